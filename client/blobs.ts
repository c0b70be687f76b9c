/**
 * Blobs: content-addressed files next to documents. The SDK hashes the bytes (Web Crypto
 * SHA-256), asks the relay for a presigned URL, and PUTs the bytes straight to storage with
 * progress and retries; the relay never carries them.
 */
import { ErrorCode, YrelayError } from '../shared/errors.js'
import { backoffDelay, type BackoffOptions } from './backoff.js'
import type { RelayHttp } from './http.js'

export interface UploadProgress {
  loaded: number
  total: number
}

export interface UploadOptions {
  /** Default: the File's type, else application/octet-stream. */
  contentType?: string
  /** The scope that owns the blob ("teams/t7/"); "" on a single-tenant relay. */
  scope?: string
  onProgress?: (progress: UploadProgress) => void
  /** Attempts of the PUT before giving up (network failures and 5xx are retried). Default 4. */
  attempts?: number
}

export interface UploadResult {
  /** `<scope>blobs/<sha256>`: store it in the document; pass it to downloadUrl. */
  key: string
  size: number
  sha256: string
  contentType: string
  /** The relay already had these bytes: nothing was uploaded. */
  existed: boolean
}

/** PUTs bytes to a presigned URL with exactly the signed headers, reporting progress. */
export type PutFunction = (url: string, headers: Record<string, string>, body: Uint8Array, onProgress: (loaded: number) => void) => Promise<PutResult>

/** `status` 0: the request never got an answer (network failure). */
export interface PutResult {
  status: number
  body: string
}

interface SignedUpload {
  key: string
  url: string
  method: string
  headers: Record<string, string>
  expiresAt: string
  exists: boolean
}

export class Blobs {
  constructor(
    private readonly http: RelayHttp,
    private readonly put: PutFunction,
    private readonly backoff: BackoffOptions,
  ) {}

  async upload(data: Uint8Array | Blob, options: UploadOptions = {}): Promise<UploadResult> {
    const bytes = data instanceof Uint8Array ? data : new Uint8Array(await data.arrayBuffer())
    const contentType = options.contentType || (data instanceof Blob && data.type) || 'application/octet-stream'
    const sha256 = await sha256Hex(bytes)
    const spec = { scope: options.scope ?? '', size: bytes.byteLength, contentType, sha256 }
    const report = (loaded: number) => options.onProgress?.({ loaded, total: bytes.byteLength })
    report(0)
    let signed = await this.http.json<SignedUpload>('POST', '/v1/blobs/upload-url', spec)
    if (!signed.exists) {
      const attempts = Math.max(1, options.attempts ?? 4)
      for (let attempt = 1; ; attempt++) {
        const result = await this.put(absolute(signed.url, this.http.baseUrl), signed.headers, bytes, report)
        if (result.status >= 200 && result.status < 300) break
        const transient = result.status === 0 || result.status >= 500 || result.status === 429
        if (attempt >= attempts || !(transient || result.status === 403)) {
          throw new YrelayError(ErrorCode.BLOB_UPLOAD_FAILED, `uploading ${sha256} failed after ${attempt} attempt(s): ${describe(result)}`)
        }
        report(0)
        await new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt - 1, this.backoff)))
        // A refused signature may have expired while waiting: sign again.
        if (result.status === 403) signed = await this.http.json<SignedUpload>('POST', '/v1/blobs/upload-url', spec)
      }
      await this.http.json('POST', '/v1/blobs/complete', { key: signed.key })
    }
    report(bytes.byteLength)
    return { key: signed.key, size: bytes.byteLength, sha256, contentType, existed: signed.exists }
  }

  /** A URL the blob can be fetched from without a token, until it expires. */
  async downloadUrl(key: string): Promise<string> {
    const { url } = await this.http.json<{ url: string }>('POST', '/v1/blobs/download-url', { key })
    return absolute(url, this.http.baseUrl)
  }
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('')
}

function absolute(url: string, base: string): string {
  return new URL(url, base).toString()
}

function describe(result: PutResult): string {
  if (result.status === 0) return 'no answer from storage'
  const detail = result.body.match(/<Message>([^<]*)<\/Message>/)?.[1] ?? result.body.slice(0, 200)
  return `storage answered ${result.status}${detail ? `: ${detail}` : ''}`
}

/** Browsers: XMLHttpRequest, the one browser API that reports upload progress. */
export const xhrPut: PutFunction = (url, headers, body, onProgress) =>
  new Promise((resolve) => {
    const xhr = new XMLHttpRequest()
    xhr.open('PUT', url)
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value)
    xhr.upload.onprogress = (event) => onProgress(event.loaded)
    xhr.onload = () => resolve({ status: xhr.status, body: xhr.responseText })
    xhr.onerror = () => resolve({ status: 0, body: '' })
    xhr.send(body as Uint8Array<ArrayBuffer>)
  })

/** Elsewhere (workers without XMLHttpRequest): fetch, with progress only at the end. */
export const fetchPut: PutFunction = async (url, headers, body, onProgress) => {
  try {
    const res = await fetch(url, { method: 'PUT', headers, body: body as Uint8Array<ArrayBuffer> })
    if (res.ok) onProgress(body.byteLength)
    return { status: res.status, body: await res.text() }
  } catch {
    return { status: 0, body: '' }
  }
}
