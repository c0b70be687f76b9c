/**
 * The change feed behind `GET /v1/events`: document and blob changes per scope, fanned out to
 * subscribers of that scope, with a bounded replay window for clients that reconnect with
 * `Last-Event-ID`. An idle subscriber costs one map entry; heartbeats share one timer.
 */

export type ChangeEvent =
  | { type: 'doc.changed'; scope: string; name: string; updatedAt: string }
  | { type: 'doc.deleted'; scope: string; name: string; deletedAt: string; deletedBy: string | null }
  | { type: 'blob.added'; scope: string; key: string; size: number }
  | { type: 'blob.deleted'; scope: string; key: string }

export interface Subscriber {
  /** Writes one event; `id` resumes the feed after it. */
  event(id: string, event: ChangeEvent): void
  /** Events since `Last-Event-ID` are gone (too old, or the relay restarted): refetch state. */
  reset(id: string): void
  heartbeat(): void
}

export interface ChangeFeedOptions {
  /** Events kept for replay. */
  windowSize: number
  heartbeatMs: number
}

interface Stored {
  seq: number
  event: ChangeEvent
}

export class ChangeFeed {
  /** Ids are "<epoch>.<seq>": a restarted relay has another epoch, so old ids are recognised as gone. */
  private readonly epoch = Date.now().toString(36)
  private seq = 0
  private readonly window: Stored[] = []
  private readonly byScope = new Map<string, Set<Subscriber>>()
  private subscribers = 0
  private heartbeat: NodeJS.Timeout | undefined

  constructor(private readonly options: ChangeFeedOptions) {}

  get size(): number {
    return this.subscribers
  }

  publish(event: ChangeEvent): void {
    const stored = { seq: ++this.seq, event }
    this.window.push(stored)
    if (this.window.length > this.options.windowSize) this.window.splice(0, this.window.length - this.options.windowSize)
    const id = this.idOf(stored.seq)
    for (const sub of this.byScope.get(event.scope) ?? []) sub.event(id, event)
  }

  /** Subscribes to the scopes, first replaying what came after `lastEventId`. Returns the unsubscribe. */
  subscribe(scopes: string[], sub: Subscriber, lastEventId?: string): () => void {
    if (lastEventId !== undefined) this.replay(new Set(scopes), sub, lastEventId)
    for (const scope of scopes) {
      let set = this.byScope.get(scope)
      if (!set) this.byScope.set(scope, (set = new Set()))
      set.add(sub)
    }
    this.subscribers++
    this.heartbeat ??= setInterval(() => this.beat(), this.options.heartbeatMs).unref()
    return () => {
      for (const scope of scopes) {
        const set = this.byScope.get(scope)
        if (!set?.delete(sub)) continue
        if (set.size === 0) this.byScope.delete(scope)
      }
      if (--this.subscribers === 0) {
        clearInterval(this.heartbeat)
        this.heartbeat = undefined
      }
    }
  }

  private replay(scopes: Set<string>, sub: Subscriber, lastEventId: string): void {
    const [epoch, seqText] = lastEventId.split('.')
    const seq = Number(seqText)
    const oldest = this.window[0]?.seq ?? this.seq + 1
    // Resumable only if this process issued the id and nothing after it has left the window.
    if (epoch !== this.epoch || !Number.isInteger(seq) || seq > this.seq || seq < oldest - 1) {
      sub.reset(this.idOf(this.seq))
      return
    }
    for (const stored of this.window) {
      if (stored.seq > seq && scopes.has(stored.event.scope)) sub.event(this.idOf(stored.seq), stored.event)
    }
  }

  private beat(): void {
    const seen = new Set<Subscriber>()
    for (const set of this.byScope.values()) {
      for (const sub of set) {
        if (seen.has(sub)) continue
        seen.add(sub)
        sub.heartbeat()
      }
    }
  }

  private idOf(seq: number): string {
    return `${this.epoch}.${seq}`
  }

  close(): void {
    clearInterval(this.heartbeat)
    this.heartbeat = undefined
  }
}
