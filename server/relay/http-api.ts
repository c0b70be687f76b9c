/**
 * HTTP on the relay's port: health and readiness, and the /v1 API (documents, blobs, the change
 * feed, usage). Errors are JSON: {error: {code, message, …}}. The API authenticates with
 * bearer tokens, not cookies, so any origin may call it (CORS allows all).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { ErrorCode, isYrelayError } from '../../shared/errors.js'
import type { ApiContext } from '../api/api-context.js'
import { handleBlobData } from '../api/blob-data-api.js'
import { BLOBS_PATH, handleBlobs } from '../api/blobs-api.js'
import { DOCS_PATH, handleDocs } from '../api/docs-api.js'
import { EVENTS_PATH, handleEvents } from '../api/events-api.js'
import { sendError, sendJson, sendYrelayError } from '../api/http-io.js'
import { USAGE_PATH, handleUsage } from '../api/usage-api.js'
import { BLOB_DATA_PATH } from '../blobs/local-url-signer.js'
import type { WriteBacklog } from './write-backlog.js'
import type { Metrics } from '../metrics.js'
import { QuotaError } from '../quota/write-gate.js'
import { serveDemo } from './demo-page.js'
import { serveMetrics } from './metrics-endpoint.js'
import type { ObjectStore } from '../store/object-store.js'

const READY_TIMEOUT_MS = 3000

export interface HttpContext {
  store: ObjectStore
  draining: () => boolean
  rooms: () => number
  backlog: WriteBacklog
  metrics: Metrics
  metricsToken?: string
  /** Why this relay cannot reach the other relays (Redis down), or null. */
  clusterUnready: () => string | null
  api: ApiContext
}

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL, ctx: ApiContext) => Promise<void>

/** Longest prefix first is not needed: no route is a prefix of another. */
const API_ROUTES: [string, Handler][] = [
  [DOCS_PATH, handleDocs],
  [BLOBS_PATH, handleBlobs],
  [BLOB_DATA_PATH, handleBlobData],
  [EVENTS_PATH, handleEvents],
  [USAGE_PATH, handleUsage],
]

const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, HEAD, POST, PUT, DELETE, OPTIONS',
  'access-control-allow-headers': 'authorization, content-type, last-event-id',
  'access-control-max-age': '600',
}

export async function handleHttp(req: IncomingMessage, res: ServerResponse, ctx: HttpContext): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://relay')
  const path = url.pathname
  if (path === '/healthz' || path === '/readyz') {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendError(res, 405, ErrorCode.BAD_REQUEST, `${req.method} is not supported on ${path}`)
      return
    }
    if (path === '/healthz') sendJson(res, 200, { status: 'ok' })
    else await readiness(res, ctx)
    return
  }
  if (path === '/metrics') {
    await serveMetrics(req, res, ctx.metrics, ctx.metricsToken)
    return
  }
  const route = API_ROUTES.find(([prefix]) => path === prefix || path.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`))
  if (!route) {
    if (req.method === 'GET' && (await serveDemo(path, url.search.slice(1), res))) return
    sendError(res, 404, ErrorCode.NOT_FOUND, `no such endpoint: ${path}; WebSocket clients connect to /v1/sync/<document>`)
    return
  }
  for (const [name, value] of Object.entries(CORS_HEADERS)) res.setHeader(name, value)
  if (req.method === 'OPTIONS') {
    res.writeHead(204).end()
    return
  }
  try {
    await route[1](req, res, url, ctx.api)
  } catch (err) {
    if (res.headersSent) {
      res.destroy()
      throw err
    }
    if (!isYrelayError(err)) throw err
    // An error before the body was read (too large, bad signature): do not read the rest.
    if (!req.complete) res.setHeader('connection', 'close')
    const auth = err.code === ErrorCode.UNAUTHORIZED || err.code === ErrorCode.FORBIDDEN || err.code === ErrorCode.BAD_DOC_NAME
    ctx.metrics.refused({ code: err.code, via: 'http', message: err.message, auth, quotaKind: err instanceof QuotaError ? err.kind : undefined })
    sendYrelayError(res, err)
  }
}

async function readiness(res: ServerResponse, ctx: HttpContext): Promise<void> {
  if (ctx.draining()) {
    sendError(res, 503, ErrorCode.DRAINING, 'relay is shutting down')
    return
  }
  // A store can answer a ping and still refuse writes (a full disk): failing flushes count too.
  const { backlog } = ctx
  const pending = { pendingBytes: backlog.bytes, pendingLimit: backlog.limit, failingDocuments: backlog.failingRooms }
  if (backlog.failingRooms > 0) {
    sendJson(res, 503, { error: { code: ErrorCode.STORAGE_UNAVAILABLE, message: `writes to storage (${ctx.store.kind}) are failing for ${backlog.failingRooms} document(s); retrying`, ...pending } })
    return
  }
  const clusterProblem = ctx.clusterUnready()
  if (clusterProblem) {
    sendError(res, 503, ErrorCode.CLUSTER_UNAVAILABLE, clusterProblem)
    return
  }
  try {
    await withTimeout(ctx.store.ping(), READY_TIMEOUT_MS)
    sendJson(res, 200, { status: 'ready', store: ctx.store.kind, rooms: ctx.rooms(), ...pending })
  } catch (err) {
    sendError(res, 503, ErrorCode.STORAGE_UNAVAILABLE, `storage (${ctx.store.kind}) unreachable: ${(err as Error).message}`)
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}
