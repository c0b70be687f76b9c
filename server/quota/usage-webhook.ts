/**
 * The usage webhook: when a scope's stored usage changes, POST `{scope, bytes, documents}` to
 * the app backend, signed with HMAC-SHA256 over the body (`x-yrelay-signature: sha256=<hex>`).
 * Coalesced to at most one per scope per interval (the latest figures win), retried with
 * backoff, and never on a user's request path: notify() only records and schedules.
 */
import { createHmac } from 'node:crypto'
import type { Logger } from '../logger.js'
import type { UsageSummary } from './usage.js'

export interface UsageWebhookOptions {
  url: string
  secret: string
  intervalMs: number
  logger: Logger
}

const MAX_ATTEMPTS = 8
const FIRST_RETRY_MS = 1000
const MAX_RETRY_MS = 60_000
const TIMEOUT_MS = 10_000

interface ScopeState {
  latest: UsageSummary | null
  lastSentAt: number
  timer: NodeJS.Timeout | undefined
  sending: boolean
}

export function signWebhookBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
}

export class UsageWebhook {
  private readonly scopes = new Map<string, ScopeState>()
  private closed = false

  constructor(private readonly options: UsageWebhookOptions) {}

  notify(summary: UsageSummary): void {
    if (this.closed) return
    let state = this.scopes.get(summary.scope)
    if (!state) this.scopes.set(summary.scope, (state = { latest: null, lastSentAt: 0, timer: undefined, sending: false }))
    state.latest = summary
    this.schedule(summary.scope, state)
  }

  private schedule(scope: string, state: ScopeState, delay = Math.max(0, state.lastSentAt + this.options.intervalMs - Date.now())): void {
    if (state.timer || state.sending) return
    state.timer = setTimeout(() => {
      state.timer = undefined
      void this.send(scope, state)
    }, delay)
    state.timer.unref()
  }

  private async send(scope: string, state: ScopeState): Promise<void> {
    const summary = state.latest
    if (!summary || this.closed) return
    state.latest = null
    state.sending = true
    const body = JSON.stringify({ scope, bytes: summary.bytes, documents: summary.documents, blobs: summary.blobs, at: new Date().toISOString() })
    let delivered = false
    for (let attempt = 1, wait = FIRST_RETRY_MS; attempt <= MAX_ATTEMPTS && !this.closed; attempt++, wait = Math.min(MAX_RETRY_MS, wait * 2)) {
      try {
        const res = await fetch(this.options.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-yrelay-signature': signWebhookBody(this.options.secret, body) },
          body,
          signal: AbortSignal.timeout(TIMEOUT_MS),
        })
        if (res.ok) {
          delivered = true
          break
        }
        this.options.logger.warn({ scope, status: res.status, attempt }, 'usage webhook refused; will retry')
      } catch (err) {
        this.options.logger.warn({ scope, err: (err as Error).message, attempt }, 'usage webhook unreachable; will retry')
      }
      // Newer figures replace these: send those instead of retrying stale ones.
      if (state.latest) break
      await new Promise((r) => setTimeout(r, wait).unref())
    }
    if (!delivered && !state.latest) this.options.logger.error({ scope }, 'usage webhook gave up; the next change is sent again')
    state.lastSentAt = Date.now()
    state.sending = false
    if (state.latest) this.schedule(scope, state)
    else this.scopes.delete(scope)
  }

  close(): void {
    this.closed = true
    for (const state of this.scopes.values()) clearTimeout(state.timer)
    this.scopes.clear()
  }
}
