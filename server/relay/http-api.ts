/** HTTP endpoints on the relay's port. Errors are JSON: {error: {code, message}}. */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { ErrorCode } from '../../shared/errors.js'
import type { WriteBacklog } from './write-backlog.js'
import type { Metrics } from '../metrics.js'
import { serveDemo } from './demo-page.js'
import { serveMetrics } from './metrics-endpoint.js'
import type { ObjectStore } from '../store/object-store.js'

const READY_TIMEOUT_MS = 3000

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

export function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { code, message } })
}

export interface HttpContext {
  store: ObjectStore
  draining: () => boolean
  rooms: () => number
  backlog: WriteBacklog
  metrics: Metrics
  metricsToken?: string
  /** Why this relay cannot reach the other relays (Redis down), or null. */
  clusterUnready: () => string | null
}

export async function handleHttp(req: IncomingMessage, res: ServerResponse, ctx: HttpContext): Promise<void> {
  const path = (req.url ?? '/').split('?')[0]
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendError(res, 405, ErrorCode.BAD_REQUEST, `${req.method} is not supported on ${path}`)
    return
  }
  switch (path) {
    case '/healthz':
      sendJson(res, 200, { status: 'ok' })
      return
    case '/readyz': {
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
      return
    }
    case '/metrics':
      await serveMetrics(req, res, ctx.metrics, ctx.metricsToken)
      return
    default:
      if (await serveDemo(path ?? '/', (req.url ?? '').split('?')[1] ?? '', res)) return
      sendError(res, 404, ErrorCode.NOT_FOUND, `no such endpoint: ${path}; WebSocket clients connect to /v1/sync/<document>`)
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
