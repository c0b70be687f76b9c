/**
 * `GET /v1/events`: the change feed of the caller's scopes as Server-Sent Events. Resumes
 * after `Last-Event-ID` within the feed's window; otherwise sends a `reset` event so the client
 * refetches what it shows. Ends when the token expires (the client reconnects with a fresh one).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { ErrorCode, YrelayError } from '../../shared/errors.js'
import type { Subscriber } from '../events/change-feed.js'
import { principalOf, type ApiContext } from './api-context.js'

export const EVENTS_PATH = '/v1/events'
/** A subscriber that stops reading is dropped past this much unsent data; it resumes by id. */
const MAX_UNSENT_BYTES = 1024 * 1024
const RETRY_MS = 2000
const MAX_TIMER_MS = 2 ** 31 - 1

export async function handleEvents(req: IncomingMessage, res: ServerResponse, url: URL, ctx: ApiContext): Promise<void> {
  if (req.method !== 'GET') throw new YrelayError(ErrorCode.BAD_REQUEST, `${req.method} is not supported on ${EVENTS_PATH}`)
  const principal = await principalOf(req, url, ctx)
  const wanted = url.searchParams.getAll('scope')
  const scopes = (wanted.length > 0 ? wanted.map((s) => ctx.access.authorizeScope(principal, s)) : ctx.access.scopesOf(principal)).map((a) => a.scope)
  if (scopes.length === 0) throw new YrelayError(ErrorCode.BAD_REQUEST, 'scope: name at least one scope (?scope=teams/t7/)')
  const lastEventId = (req.headers['last-event-id'] as string | undefined) ?? url.searchParams.get('lastEventId') ?? undefined

  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' })
  res.write(`retry: ${RETRY_MS}\n: subscribed to ${scopes.join(' ')}\n\n`)
  const write = (text: string) => {
    if (res.writableLength > MAX_UNSENT_BYTES) {
      res.destroy()
      return
    }
    res.write(text)
  }
  const sub: Subscriber = {
    event: (id, event) => {
      const { type, ...data } = event
      write(`id: ${id}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`)
    },
    reset: (id) => write(`id: ${id}\nevent: reset\ndata: {}\n\n`),
    heartbeat: () => write(': heartbeat\n\n'),
  }
  const unsubscribe = ctx.feed.subscribe(scopes, sub, lastEventId)
  const expiry = principal.expiresAt === null ? undefined : setTimeout(() => res.end(), Math.min(MAX_TIMER_MS, Math.max(0, principal.expiresAt - Date.now())))
  res.on('close', () => {
    unsubscribe()
    clearTimeout(expiry)
  })
}
