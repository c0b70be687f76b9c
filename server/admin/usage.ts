/**
 * `yrelay usage <scope>`: bytes and documents a scope stores, counted the way the relay counts
 * them for quotas (a listing of its documents and blobs). "/" names the bucket root of a
 * single-tenant store.
 */
import { isScopeKey } from '../auth/access.js'
import { UsageTracker } from '../quota/usage.js'
import { pino } from 'pino'
import { formatBytes, type AdminContext } from './context.js'

export async function usageCommand(ctx: AdminContext, arg: string, options: { json: boolean }): Promise<boolean> {
  const scope = arg === '/' ? '' : arg
  if (!isScopeKey(scope) || (scope === '') !== (ctx.tenancy === 'single')) {
    const expected = ctx.tenancy === 'single' ? '"/" (this store is single-tenant)' : '"users/<id>/", "teams/<id>/" or "spaces/<id>/"'
    process.stderr.write(`yrelay: usage: ${JSON.stringify(arg)} is not a scope; pass ${expected}\n`)
    return false
  }
  const tracker = new UsageTracker(ctx.store, { refreshMs: Number.POSITIVE_INFINITY, logger: pino({ level: 'silent' }) })
  await tracker.ensure(scope)
  const u = tracker.summary(scope)
  if (options.json) {
    ctx.out(JSON.stringify(u))
    return true
  }
  ctx.out(`scope      ${scope === '' ? '/ (bucket root)' : scope}`)
  ctx.out(`bytes      ${u.bytes} (${formatBytes(u.bytes)})`)
  ctx.out(`documents  ${u.documents} (${formatBytes(u.documentBytes)})`)
  ctx.out(`blobs      ${u.blobs} (${formatBytes(u.blobBytes)})`)
  return true
}
