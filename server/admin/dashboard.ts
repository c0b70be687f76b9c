/**
 * The admin dashboard at /admin: a static page (server/admin/dashboard/) and the JSON it reads
 * under /admin/api/, every API call authorised by ADMIN_TOKEN as a Bearer token. Without
 * ADMIN_TOKEN the dashboard does not exist (404).
 */
import { readFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { ErrorCode } from '../../shared/errors.js'
import { isScopeKey } from '../auth/access.js'
import { bearerMatches } from '../auth/static-token.js'
import type { DocStore } from '../docs/doc-store.js'
import { listDocuments } from '../docs/doc-index.js'
import type { Metrics } from '../metrics.js'
import type { Limit } from '../quota/limits.js'
import type { LimitsBook } from '../quota/limits-book.js'
import type { UsageTracker } from '../quota/usage.js'
import { sendError, sendJson } from '../api/http-io.js'
import { InstrumentedStore } from '../store/instrumented-store.js'
import type { ObjectStore } from '../store/object-store.js'
import { inspectDocument } from './inspect.js'
import { PACKAGE_ROOT } from '../package-root.js'

export interface DashboardContext {
  adminToken: string | undefined
  instanceId: string
  tenancy: 'single' | 'multi'
  store: ObjectStore
  docs: DocStore
  metrics: Metrics
  usage: UsageTracker
  limits: LimitsBook
  connections(): number
  rooms(): { name: string; scope: string; connections: number; state: string }[]
}

const STATIC: Record<string, { type: string; body: Buffer }> = {
  '/admin': { type: 'text/html; charset=utf-8', body: readFileSync(new URL('server/admin/dashboard/index.html', PACKAGE_ROOT)) },
  '/admin/app.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(new URL('server/admin/dashboard/app.js', PACKAGE_ROOT)) },
  '/admin/app.css': { type: 'text/css; charset=utf-8', body: readFileSync(new URL('server/admin/dashboard/app.css', PACKAGE_ROOT)) },
}

/** The page loads only its own script and style and talks only to this relay. */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
}

const MAX_LISTED = 200
const MAX_ROOMS = 200
const MAX_SCOPES = 200
const PING_TIMEOUT_MS = 3000

export function isDashboardPath(path: string): boolean {
  return path === '/admin' || path.startsWith('/admin/')
}

export async function handleDashboard(req: IncomingMessage, res: ServerResponse, path: string, ctx: DashboardContext): Promise<void> {
  if (!ctx.adminToken) {
    sendError(res, 404, ErrorCode.NOT_FOUND, 'the admin dashboard is off: set ADMIN_TOKEN to turn it on')
    return
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendError(res, 405, ErrorCode.BAD_REQUEST, `${req.method} is not supported on ${path}`)
    return
  }
  const asset = STATIC[path === '/admin/' ? '/admin' : path]
  if (asset) {
    res.writeHead(200, { 'content-type': asset.type, 'content-length': asset.body.byteLength, ...SECURITY_HEADERS }).end(asset.body)
    return
  }
  if (!bearerMatches(req.headers.authorization, ctx.adminToken)) {
    sendError(res, 401, ErrorCode.UNAUTHORIZED, 'the admin API needs Authorization: Bearer <ADMIN_TOKEN>')
    return
  }
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value)
  const query = new URL(req.url ?? '/', 'http://relay').searchParams
  switch (path) {
    case '/admin/api/overview':
      sendJson(res, 200, await overview(ctx))
      return
    case '/admin/api/docs': {
      const prefix = query.get('prefix') ?? ''
      const items: { name: string; snapshots: number; logs: number; bytes: number; updatedAt: string }[] = []
      let truncated = false
      for await (const d of listDocuments(ctx.store, prefix, ctx.tenancy)) {
        if (items.length === MAX_LISTED) {
          truncated = true
          break
        }
        const objects = [...d.snapshots, ...d.logs]
        items.push({
          name: d.name,
          snapshots: d.snapshots.length,
          logs: d.logs.length,
          bytes: objects.reduce((n, o) => n + o.size, 0),
          updatedAt: new Date(Math.max(...objects.map((o) => o.lastModified.getTime()))).toISOString(),
        })
      }
      sendJson(res, 200, { items, truncated })
      return
    }
    case '/admin/api/usage': {
      const scope = query.get('scope')
      if (scope !== null && (!isScopeKey(scope) || (scope === '') !== (ctx.tenancy === 'single'))) {
        const example = ctx.tenancy === 'single' ? '"" (the bucket root)' : '"users/<id>/", "teams/<id>/" or "spaces/<id>/"'
        sendError(res, 400, ErrorCode.BAD_REQUEST, `scope: ${JSON.stringify(scope.slice(0, 200))} is not a scope; pass ${example}`)
        return
      }
      sendJson(res, 200, await usage(ctx, scope))
      return
    }
    case '/admin/api/doc': {
      const name = query.get('name') ?? ''
      const report = name ? await inspectDocument(ctx, name) : null
      if (!report) sendError(res, 404, ErrorCode.NOT_FOUND, `no document ${JSON.stringify(name.slice(0, 600))} in storage`)
      else sendJson(res, 200, report)
      return
    }
    default:
      sendError(res, 404, ErrorCode.NOT_FOUND, `no such admin endpoint: ${path}`)
  }
}

const limitJson = (limit: Limit | undefined) => limit && { value: limit.value, source: limit.source }

/**
 * Usage against limits for the scopes in view: those of open rooms, those this relay has
 * listed for its quota checks, and one asked for (listed now if needed).
 */
async function usage(ctx: DashboardContext, asked: string | null) {
  const scopes = [...new Set([...(asked === null ? [] : [asked]), ...ctx.rooms().map((r) => r.scope), ...ctx.usage.knownScopes()])].slice(0, MAX_SCOPES)
  await Promise.all(scopes.map((scope) => ctx.usage.ensure(scope)))
  return {
    items: scopes.map((scope) => {
      const limits = ctx.limits.of(scope)
      return {
        ...ctx.usage.summary(scope),
        limits: { storedBytes: limitJson(limits.storedBytes), documents: limitJson(limits.documents), documentBytes: limitJson(limits.documentBytes), blobBytes: limitJson(limits.blobBytes) },
        prefixes: [...limits.prefixDocuments].map(([prefix, limit]) => ({ prefix, documents: ctx.usage.documentsUnder(scope, prefix), limit: limitJson(limit) })),
      }
    }),
  }
}

async function overview(ctx: DashboardContext) {
  const started = performance.now()
  let storage: { kind: string; ready: boolean; latencyMs: number; error?: string }
  try {
    await Promise.race([
      ctx.store.ping(),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer within ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS).unref()),
    ])
    storage = { kind: ctx.store.kind, ready: true, latencyMs: Math.round(performance.now() - started) }
  } catch (err) {
    storage = { kind: ctx.store.kind, ready: false, latencyMs: Math.round(performance.now() - started), error: (err as Error).message }
  }
  const memory = process.memoryUsage()
  return {
    instanceId: ctx.instanceId,
    uptimeSeconds: process.uptime(),
    connections: ctx.connections(),
    rooms: ctx
      .rooms()
      .sort((a, b) => b.connections - a.connections)
      .slice(0, MAX_ROOMS),
    refusals: ctx.metrics.recentRefusals(),
    storage: { ...storage, requests: ctx.store instanceof InstrumentedStore ? ctx.store.counts : {} },
    redis: await ctx.metrics.redisState(),
    process: { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed },
  }
}
