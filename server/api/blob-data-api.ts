/**
 * The bytes of blobs when the relay signs its own URLs (directory store): PUT checks the
 * signature, expiry, exact size and SHA-256 before anything is stored; GET checks signature
 * and expiry. No token: the signed URL is the permission, as with S3.
 */
import { createHash } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { ErrorCode, YrelayError } from '../../shared/errors.js'
import { BLOB_DATA_PATH } from '../blobs/local-url-signer.js'
import { parseBlobKey } from '../docs/layout.js'
import type { ApiContext } from './api-context.js'
import { sendJson } from './http-io.js'

export async function handleBlobData(req: IncomingMessage, res: ServerResponse, url: URL, ctx: ApiContext): Promise<void> {
  const signer = ctx.localSigner
  if (!signer) throw new YrelayError(ErrorCode.NOT_FOUND, 'this relay stores blobs in S3; use the URLs that upload-url and download-url return')
  const key = url.pathname.slice(BLOB_DATA_PATH.length)
  const blob = parseBlobKey(key)
  if (!blob) throw new YrelayError(ErrorCode.NOT_FOUND, 'not a blob URL')
  if (req.method === 'GET' || req.method === 'HEAD') {
    await signer.verifyDownload(key, url.searchParams)
    const bytes = await ctx.store.get(key)
    if (!bytes) throw new YrelayError(ErrorCode.NOT_FOUND, `no blob ${key}`)
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.byteLength, 'cache-control': 'private, max-age=31536000, immutable' })
    res.end(req.method === 'HEAD' ? undefined : bytes)
    return
  }
  if (req.method !== 'PUT') throw new YrelayError(ErrorCode.BAD_REQUEST, `${req.method} is not supported on blob URLs`)
  const allowed = await signer.verifyUpload(key, url.searchParams)
  if (allowed.sha256 !== blob.sha256) throw new YrelayError(ErrorCode.SIGNED_URL_INVALID, 'the URL was signed for another blob')
  if ((req.headers['content-type'] ?? '') !== allowed.contentType) {
    throw new YrelayError(ErrorCode.BLOB_MISMATCH, `content-type must be ${allowed.contentType}, as signed into the URL`)
  }
  const declared = req.headers['content-length']
  if (declared !== undefined && Number(declared) !== allowed.size) {
    throw new YrelayError(Number(declared) > allowed.size ? ErrorCode.MESSAGE_TOO_LARGE : ErrorCode.BLOB_MISMATCH, `body is ${declared} bytes; the URL allows exactly ${allowed.size}`)
  }
  const hash = createHash('sha256')
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.byteLength
    if (size > allowed.size) throw new YrelayError(ErrorCode.MESSAGE_TOO_LARGE, `body is larger than the ${allowed.size} bytes the URL allows`)
    hash.update(chunk)
    chunks.push(chunk)
  }
  if (size !== allowed.size) throw new YrelayError(ErrorCode.BLOB_MISMATCH, `body is ${size} bytes; the URL allows exactly ${allowed.size}`)
  if (hash.digest('hex') !== blob.sha256) throw new YrelayError(ErrorCode.BLOB_MISMATCH, 'the body\'s SHA-256 does not match the key; nothing was stored')
  await ctx.store.put(key, Buffer.concat(chunks), { contentType: allowed.contentType })
  ctx.usage.blobStored(blob.scope, blob.sha256, size)
  ctx.feed.publish({ type: 'blob.added', scope: blob.scope, key, size })
  sendJson(res, 200, { key, size })
}
