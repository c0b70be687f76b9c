/**
 * The change feed (`GET /v1/events`, Server-Sent Events) read with fetch, which browsers and
 * Node 20 both have (EventSource cannot send an Authorization header, and Node 20 lacks it).
 * Reconnects with backoff and resumes after the last event id; the relay answers a resume
 * beyond its window with a `reset` event, after which the app refetches what it shows.
 */
import { ErrorCode } from '../shared/errors.js'
import { backoffDelay, type BackoffOptions } from './backoff.js'
import { RelayHttpError, type RelayHttp } from './http.js'
import type { SpaceError } from './space.js'

export interface ChangeEvent {
  /** `doc.changed`, `doc.deleted`, `blob.added`, `blob.deleted`, or `reset`. */
  type: string
  id: string | null
  data: Record<string, unknown>
}

export interface SubscribeOptions {
  /** Scopes to follow ("teams/t7/"); default: every scope the token grants. */
  scopes?: string[]
  /** Told about failures; the feed keeps retrying unless the relay refused it for good. */
  onError?: (error: SpaceError) => void
}

export class Events {
  private readonly subscriptions = new Set<AbortController>()

  constructor(
    private readonly http: RelayHttp,
    private readonly backoff: BackoffOptions,
  ) {}

  /** Calls `handler` for every event until the returned function is called. */
  subscribe(handler: (event: ChangeEvent) => void, options: SubscribeOptions = {}): () => void {
    const controller = new AbortController()
    this.subscriptions.add(controller)
    const query = (options.scopes ?? []).map((s) => `scope=${encodeURIComponent(s)}`).join('&')
    const path = `/v1/events${query ? `?${query}` : ''}`
    let lastId: string | null = null
    let attempt = 0
    const run = async () => {
      while (!controller.signal.aborted) {
        try {
          const headers: Record<string, string> = { accept: 'text/event-stream' }
          if (lastId) headers['last-event-id'] = lastId
          const res = await this.http.request(path, { headers, signal: controller.signal })
          for await (const event of readEvents(res.body!)) {
            attempt = 0
            if (event.id) lastId = event.id
            handler(event)
          }
        } catch (err) {
          if (controller.signal.aborted) return
          const status = err instanceof RelayHttpError ? err.status : 0
          options.onError?.({ code: (err as { code?: string }).code ?? ErrorCode.INTERNAL, message: (err as Error).message })
          // A refusal that retrying cannot change (bad scope, forbidden) ends the subscription.
          if (status >= 400 && status < 500 && status !== 401 && status !== 408 && status !== 429) return
        }
        await new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt++, this.backoff)))
      }
    }
    void run()
    return () => {
      controller.abort()
      this.subscriptions.delete(controller)
    }
  }

  /** Ends every subscription (the client is being destroyed). */
  stopAll(): void {
    for (const controller of this.subscriptions) controller.abort()
    this.subscriptions.clear()
  }
}

/** Parses a Server-Sent Events stream into events; comments (heartbeats) are skipped. */
export async function* readEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<ChangeEvent> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n')
      let end: number
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const event = parseBlock(block)
        if (event) yield event
      }
    }
  } finally {
    reader.releaseLock()
  }
}

function parseBlock(block: string): ChangeEvent | null {
  let type = 'message'
  let id: string | null = null
  const data: string[] = []
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
    if (field === 'event') type = value
    else if (field === 'id') id = value
    else if (field === 'data') data.push(value)
  }
  if (data.length === 0) return null
  let parsed: Record<string, unknown>
  try {
    parsed = JSON.parse(data.join('\n')) as Record<string, unknown>
  } catch {
    parsed = { text: data.join('\n') }
  }
  return { type, id, data: parsed }
}
