/**
 * Blobs over HTTP: the relay signs URLs and keeps the books; the bytes go directly between the
 * client and storage. Keys are content addresses, `<scope>blobs/<sha256>`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { z } from 'zod'
import { ErrorCode, YrelayError, httpStatusFor, isYrelayError } from '../../shared/errors.js'
import type { Principal, ScopeAccess } from '../auth/access.js'
import { blobKey, blobsPrefix, parseBlobKey } from '../docs/layout.js'
import { needsUsage } from '../quota/limits.js'
import { QuotaError, scopeLabel } from '../quota/write-gate.js'
import { MAX_LIST_PAGE, listAll } from '../store/object-store.js'
import { principalOf, type ApiContext } from './api-context.js'
import { badRequest, parseInput, queryObject, readJson, sendJson } from './http-io.js'

export const BLOBS_PATH = '/v1/blobs'
const MAX_BATCH = 100
const DELETE_BATCH = 1000

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be the SHA-256 of the bytes as 64 lowercase hex digits')
const scope = z.string().max(200).default('')
const uploadSpec = z.object({
  scope,
  size: z.number().int().nonnegative(),
  contentType: z
    .string()
    .max(200)
    .regex(/^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+(\s*;\s*[A-Za-z0-9_-]+=[A-Za-z0-9_.-]+)*$/, 'must be a MIME type such as image/png'),
  sha256,
  /** Upload again a blob that was deleted with a tombstone. */
  restore: z.boolean().default(false),
})
const keyField = z.string().max(400)
const blobKeyBody = z.object({ key: keyField })

type UploadSpec = z.infer<typeof uploadSpec>

export async function handleBlobs(req: IncomingMessage, res: ServerResponse, url: URL, ctx: ApiContext): Promise<void> {
  const principal = await principalOf(req, url, ctx)
  const route = `${req.method} ${url.pathname.slice(BLOBS_PATH.length) || '/'}`
  switch (route) {
    case 'POST /upload-url':
      return sendJson(res, 200, await uploadUrl(ctx, principal, await readJson(req, uploadSpec)))
    case 'POST /upload-urls': {
      const { items } = await readJson(req, z.object({ items: z.array(z.unknown()).min(1).max(MAX_BATCH) }))
      return sendJson(res, 200, { items: await Promise.all(items.map((item) => settle(() => uploadUrl(ctx, principal, parseInput(uploadSpec, item))))) })
    }
    case 'POST /complete':
      return sendJson(res, 200, await complete(ctx, principal, (await readJson(req, blobKeyBody)).key))
    case 'POST /download-url':
      return sendJson(res, 200, await downloadUrl(ctx, principal, (await readJson(req, blobKeyBody)).key))
    case 'POST /download-urls': {
      const { keys } = await readJson(req, z.object({ keys: z.array(keyField).min(1).max(MAX_BATCH) }))
      return sendJson(res, 200, { items: await Promise.all(keys.map((key) => settle(() => downloadUrl(ctx, principal, key)))) })
    }
    case 'GET /stat': {
      const { key } = parseInput(blobKeyBody, queryObject(url.searchParams))
      const blob = readable(ctx, principal, key)
      const head = await ctx.store.head(key)
      if (!head) throw notFound(key)
      return sendJson(res, 200, { key, scope: blob.scope, size: head.size, lastModified: head.lastModified.toISOString() })
    }
    case 'GET /':
      return sendJson(res, 200, await list(ctx, principal, url))
    case 'DELETE /': {
      const q = parseInput(z.object({ key: keyField, tombstone: z.enum(['true', 'false']).default('false') }), queryObject(url.searchParams))
      await deleteBlobs(ctx, principal, writableKey(ctx, principal, q.key).scope, [q.key], q.tombstone === 'true')
      return sendJson(res, 200, { deleted: 1 })
    }
    case 'POST /delete-prefix': {
      const body = await readJson(req, z.object({ scope, prefix: z.string().max(64).regex(/^[0-9a-f]*$/, 'must be a prefix of SHA-256 hex digits').default(''), tombstone: z.boolean().default(false) }))
      const access = writableScope(ctx, principal, body.scope)
      return sendJson(res, 200, { deleted: await deletePrefix(ctx, principal, access.scope, body.prefix, body.tombstone) })
    }
    default:
      throw new YrelayError(ErrorCode.NOT_FOUND, `no such blob endpoint: ${route}`)
  }
}

/** One batch item: its result, or its error in the same shape as a failed request's body. */
async function settle<T>(fn: () => Promise<T>): Promise<T | { error: { code: string; message: string; status: number } }> {
  try {
    return await fn()
  } catch (err) {
    if (!isYrelayError(err)) throw err
    return { error: { code: err.code, message: err.message, status: httpStatusFor(err.code), ...err.details } }
  }
}

function notFound(key: string): YrelayError {
  return new YrelayError(ErrorCode.NOT_FOUND, `no blob ${key}`)
}

function writableScope(ctx: ApiContext, principal: Principal, scope: string): ScopeAccess {
  const access = ctx.access.authorizeScope(principal, scope)
  if (!access.canWrite) throw new YrelayError(ErrorCode.FORBIDDEN, `read-only access: your role on ${scopeLabel(scope)} is ${access.role}`)
  return access
}

function parsedKey(key: string): { scope: string; sha256: string } {
  const blob = parseBlobKey(key)
  if (!blob) throw badRequest('key: must be a blob key, "<scope>blobs/<sha256>" (as upload-url returned it)')
  return blob
}

function readable(ctx: ApiContext, principal: Principal, key: string): { scope: string; sha256: string } {
  const blob = parsedKey(key)
  ctx.access.authorizeScope(principal, blob.scope)
  return blob
}

function writableKey(ctx: ApiContext, principal: Principal, key: string): { scope: string; sha256: string } {
  const blob = parsedKey(key)
  writableScope(ctx, principal, blob.scope)
  return blob
}

async function uploadUrl(ctx: ApiContext, principal: Principal, spec: UploadSpec) {
  const { scope } = writableScope(ctx, principal, spec.scope)
  const limits = ctx.limits.for(principal, scope)
  if (spec.size > limits.blobBytes.value) {
    throw new QuotaError('blob_bytes', ErrorCode.QUOTA_EXCEEDED, `blob of ${spec.size} bytes is larger than the ${limits.blobBytes.value} allowed by ${limits.blobBytes.source}`, {
      value: limits.blobBytes.value,
      used: spec.size,
    })
  }
  const key = blobKey(scope, spec.sha256)
  const tombstone = await ctx.tombstones.ofBlob(scope, spec.sha256)
  if (tombstone) {
    if (!spec.restore) {
      throw new YrelayError(ErrorCode.BLOB_DELETED, `blob ${key} was deleted at ${tombstone.deletedAt}; pass restore: true to upload it again`, {
        details: { deletedAt: tombstone.deletedAt, deletedBy: tombstone.deletedBy },
      })
    }
    await ctx.tombstones.clearBlob(scope, spec.sha256)
  }
  if (needsUsage(limits)) await ctx.usage.ensure(scope)
  const exists = ctx.usage.hasBlob(scope, spec.sha256) || (await ctx.store.head(key)) !== null
  if (!exists && limits.storedBytes) {
    // Unexpired URLs count as used, so asking for many URLs at once cannot overrun the limit.
    const used = ctx.usage.summary(scope).bytes
    if (used + spec.size > limits.storedBytes.value) {
      throw new QuotaError('stored_bytes', ErrorCode.QUOTA_EXCEEDED, `storage limit of ${scopeLabel(scope)} reached: ${used} of ${limits.storedBytes.value} bytes used, this blob needs ${spec.size} (limit from ${limits.storedBytes.source}); delete documents or blobs, or raise the limit`, {
        value: limits.storedBytes.value,
        used,
      })
    }
  }
  const ttl = ctx.config.BLOB_URL_TTL_SECONDS
  const signed = await ctx.signer.uploadUrl(key, { size: spec.size, contentType: spec.contentType, sha256: spec.sha256 }, ttl)
  if (!exists) ctx.usage.blobReserved(scope, spec.sha256, spec.size, Date.parse(signed.expiresAt))
  return { key, ...signed, exists }
}

/** Called by the client after its upload: the relay checks the object and announces it. */
async function complete(ctx: ApiContext, principal: Principal, key: string) {
  const blob = writableKey(ctx, principal, key)
  const head = await ctx.store.head(key)
  if (!head) throw new YrelayError(ErrorCode.NOT_FOUND, `no blob ${key}: upload it to the URL from upload-url first`)
  ctx.usage.blobStored(blob.scope, blob.sha256, head.size)
  ctx.feed.publish({ type: 'blob.added', scope: blob.scope, key, size: head.size })
  return { key, size: head.size }
}

async function downloadUrl(ctx: ApiContext, principal: Principal, key: string) {
  readable(ctx, principal, key)
  if (!(await ctx.store.head(key))) throw notFound(key)
  return { key, ...(await ctx.signer.downloadUrl(key, ctx.config.BLOB_URL_TTL_SECONDS)) }
}

async function list(ctx: ApiContext, principal: Principal, url: URL) {
  const q = parseInput(
    z.object({
      scope,
      prefix: z.string().max(64).regex(/^[0-9a-f]*$/, 'must be a prefix of SHA-256 hex digits').default(''),
      cursor: z.string().max(400).optional(),
      limit: z.coerce.number().int().min(1).max(MAX_LIST_PAGE).default(100),
    }),
    queryObject(url.searchParams),
  )
  const { scope: s } = ctx.access.authorizeScope(principal, q.scope)
  const prefix = blobsPrefix(s)
  if (q.cursor !== undefined && !q.cursor.startsWith(prefix)) throw badRequest('cursor: pass back the cursor of the previous page')
  const page = await ctx.store.list(prefix + q.prefix, { cursor: q.cursor, limit: q.limit })
  const items = page.items.filter((o) => parseBlobKey(o.key)?.scope === s).map((o) => ({ key: o.key, size: o.size, lastModified: o.lastModified.toISOString() }))
  return page.cursor ? { items, cursor: page.cursor } : { items }
}

async function deleteBlobs(ctx: ApiContext, principal: Principal, scope: string, keys: string[], tombstone: boolean): Promise<void> {
  const blobs = keys.map((k) => parsedKey(k))
  if (tombstone) await Promise.all(blobs.map((b) => ctx.tombstones.markBlob(scope, b.sha256, principal.sub)))
  await ctx.store.delete(keys)
  for (const [i, b] of blobs.entries()) {
    ctx.usage.blobDeleted(scope, b.sha256)
    ctx.feed.publish({ type: 'blob.deleted', scope, key: keys[i]! })
  }
}

/** Deletes every blob under a prefix, 1,000 per request, however many there are. */
async function deletePrefix(ctx: ApiContext, principal: Principal, scope: string, prefix: string, tombstone: boolean): Promise<number> {
  let deleted = 0
  let batch: string[] = []
  const flush = async () => {
    await deleteBlobs(ctx, principal, scope, batch, tombstone)
    deleted += batch.length
    ctx.logger.info({ scope, prefix, deleted }, 'deleting blobs by prefix')
    batch = []
  }
  for await (const o of listAll(ctx.store, blobsPrefix(scope) + prefix)) {
    if (parseBlobKey(o.key)?.scope !== scope) continue
    batch.push(o.key)
    if (batch.length === DELETE_BATCH) await flush()
  }
  if (batch.length > 0) await flush()
  return deleted
}
