/**
 * One log line per HTTP request (pino-http) with a request id, also answered as the
 * X-Request-Id header. Only the method and path are logged: query strings may carry tokens
 * (`?token=`) and headers carry Authorization, so neither is serialized.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { pinoHttp, type HttpLogger } from 'pino-http'
import type { Logger } from '../logger.js'

/** Paths scraped or probed every few seconds log at debug, not info. */
const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics'])
/** A caller's (load balancer's) request id is kept when it is short and plain. */
const INCOMING_ID = /^[A-Za-z0-9._:-]{1,64}$/

export function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0]!
}

export function createRequestLogger(logger: Logger, idPrefix: string): HttpLogger {
  let next = 1
  return pinoHttp({
    logger,
    quietReqLogger: true,
    wrapSerializers: false,
    genReqId(req: IncomingMessage, res: ServerResponse) {
      const incoming = req.headers['x-request-id']
      const id = typeof incoming === 'string' && INCOMING_ID.test(incoming) ? incoming : `${idPrefix}-${next++}`
      res.setHeader('x-request-id', id)
      return id
    },
    serializers: {
      req: (req: IncomingMessage & { id?: unknown }) => ({ id: req.id, method: req.method, path: pathOf(req) }),
      res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
    },
    customLogLevel(req, res, err) {
      if (err || res.statusCode >= 500) return 'error'
      if (QUIET_PATHS.has(pathOf(req))) return 'debug'
      return res.statusCode >= 400 ? 'warn' : 'info'
    },
    customSuccessMessage: (req, res) => `${req.method} ${pathOf(req)} ${res.statusCode}`,
    customErrorMessage: (req, res) => `${req.method} ${pathOf(req)} ${res.statusCode}`,
  })
}
