/** GET /metrics: the Prometheus text format, behind METRICS_TOKEN when one is configured. */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { ErrorCode } from '../../shared/errors.js'
import { bearerMatches } from '../auth/static-token.js'
import type { Metrics } from '../metrics.js'
import { sendError } from '../api/http-io.js'

export async function serveMetrics(req: IncomingMessage, res: ServerResponse, metrics: Metrics, token: string | undefined): Promise<void> {
  if (token && !bearerMatches(req.headers.authorization, token)) {
    sendError(res, 401, ErrorCode.UNAUTHORIZED, 'metrics need Authorization: Bearer <METRICS_TOKEN> (bearer_token in a Prometheus scrape config)')
    return
  }
  const { contentType, body } = await metrics.render()
  res.writeHead(200, { 'content-type': contentType }).end(body)
}
