/**
 * URLs the relay signs itself, for stores that cannot (the local directory): an HMAC-SHA256
 * over the method, key, expiry and — for uploads — the exact size, content type and SHA-256,
 * verified by the relay's /v1/blob-data endpoint. The key lives in the store's bookkeeping, so
 * URLs stay valid across restarts.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { ErrorCode, YrelayError, isYrelayError } from '../../shared/errors.js'
import { URL_SIGNING_KEY } from '../docs/layout.js'
import type { ObjectStore } from '../store/object-store.js'
import { expiryOf, type BlobUrlSigner, type SignedDownload, type SignedUpload, type UploadSpec } from './blob-urls.js'

export const BLOB_DATA_PATH = '/v1/blob-data/'

/** What a verified upload URL allows. */
export interface VerifiedUpload extends UploadSpec {
  key: string
}

export class LocalUrlSigner implements BlobUrlSigner {
  private secret: Promise<Buffer> | null = null
  private readonly baseUrl: string

  constructor(
    private readonly store: ObjectStore,
    baseUrl: string,
  ) {
    this.baseUrl = baseUrl.replace(/\/$/, '')
  }

  /** The signing key, read from the store or created there on first use (create-only, so relays agree). */
  private key(): Promise<Buffer> {
    this.secret ??= (async () => {
      let secret = await this.store.get(URL_SIGNING_KEY)
      if (!secret) {
        try {
          await this.store.put(URL_SIGNING_KEY, randomBytes(32), { ifNoneMatch: true })
        } catch (err) {
          if (!isYrelayError(err, ErrorCode.STORE_PRECONDITION_FAILED)) throw err
        }
        secret = await this.store.get(URL_SIGNING_KEY)
      }
      if (!secret || secret.byteLength < 32) throw new Error(`${URL_SIGNING_KEY} is missing or too short`)
      return Buffer.from(secret)
    })()
    // A failed read is retried by the next request rather than remembered.
    this.secret.catch(() => (this.secret = null))
    return this.secret
  }

  private async sign(parts: (string | number)[]): Promise<string> {
    return createHmac('sha256', await this.key()).update(parts.join('\n')).digest('base64url')
  }

  async uploadUrl(key: string, spec: UploadSpec, ttlSeconds: number): Promise<SignedUpload> {
    const exp = Math.floor(expiryOf(ttlSeconds).at / 1000)
    const sig = await this.sign(['PUT', key, exp, spec.size, spec.contentType, spec.sha256])
    const q = new URLSearchParams({ exp: String(exp), size: String(spec.size), type: spec.contentType, sha256: spec.sha256, sig })
    return {
      url: `${this.baseUrl}${BLOB_DATA_PATH}${key}?${q}`,
      method: 'PUT',
      headers: { 'content-type': spec.contentType },
      expiresAt: new Date(exp * 1000).toISOString(),
    }
  }

  async downloadUrl(key: string, ttlSeconds: number): Promise<SignedDownload> {
    const exp = Math.floor(expiryOf(ttlSeconds).at / 1000)
    const q = new URLSearchParams({ exp: String(exp), sig: await this.sign(['GET', key, exp]) })
    return { url: `${this.baseUrl}${BLOB_DATA_PATH}${key}?${q}`, expiresAt: new Date(exp * 1000).toISOString() }
  }

  private async check(parts: (string | number)[], sig: string | null, exp: number): Promise<void> {
    const expected = Buffer.from(await this.sign(parts))
    const given = Buffer.from(sig ?? '')
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new YrelayError(ErrorCode.SIGNED_URL_INVALID, 'the URL signature does not match: it was altered, or signed by another relay; ask for a new URL')
    }
    if (!Number.isInteger(exp) || exp * 1000 < Date.now()) {
      throw new YrelayError(ErrorCode.SIGNED_URL_EXPIRED, 'the URL has expired; ask for a new one')
    }
  }

  async verifyUpload(key: string, q: URLSearchParams): Promise<VerifiedUpload> {
    const exp = Number(q.get('exp'))
    const size = Number(q.get('size'))
    const contentType = q.get('type') ?? ''
    const sha256 = q.get('sha256') ?? ''
    await this.check(['PUT', key, q.get('exp') ?? '', q.get('size') ?? '', contentType, sha256], q.get('sig'), exp)
    return { key, size, contentType, sha256 }
  }

  async verifyDownload(key: string, q: URLSearchParams): Promise<void> {
    await this.check(['GET', key, q.get('exp') ?? ''], q.get('sig'), Number(q.get('exp')))
  }
}
