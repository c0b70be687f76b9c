/**
 * The change feed behind `GET /v1/events`: document and blob changes per scope, fanned out to
 * subscribers of that scope, with a bounded replay window for clients that reconnect with
 * `Last-Event-ID`. An idle subscriber costs one map entry; heartbeats share one timer.
 *
 * With a FeedShare (Redis mode) the feed also carries what happened through other relays: it
 * follows a scope's shared events while the scope has subscribers here (and a while after, so a
 * dropped subscriber can resume), and replays only what it followed — a resume from before it
 * followed the scope, or across a gap in what Redis delivered, gets `reset`.
 */
import { z } from 'zod'

export const changeEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('doc.changed'), scope: z.string(), name: z.string(), updatedAt: z.string() }),
  z.object({ type: z.literal('doc.deleted'), scope: z.string(), name: z.string(), deletedAt: z.string(), deletedBy: z.string().nullable() }),
  z.object({ type: z.literal('blob.added'), scope: z.string(), key: z.string(), size: z.number() }),
  z.object({ type: z.literal('blob.deleted'), scope: z.string(), key: z.string() }),
])

export type ChangeEvent = z.infer<typeof changeEventSchema>

/** Change events shared between relays. */
export interface FeedShare {
  /** Sends an event that happened through this relay to the relays that follow its scope. */
  publish(event: ChangeEvent): void
  /**
   * Delivers the scope's events from other relays until the returned function is called;
   * `gap` says some may have been lost (Redis was unreachable).
   */
  follow(scope: string, handlers: { event(event: ChangeEvent): void; gap(): void }): () => void
}

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
  /** Other relays' events (Redis mode). */
  share?: FeedShare
  /** How long a scope stays followed after its last subscriber here left (default 5 minutes). */
  followLingerMs?: number
}

interface Following {
  /**
   * Taken from the event numbering when following began or last resumed after a gap: a
   * subscriber whose last id is older may have missed other relays' events.
   */
  since: number
  stop(): void
  linger?: NodeJS.Timeout
}

const FOLLOW_LINGER_MS = 5 * 60_000

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
  private readonly following = new Map<string, Following>()

  constructor(private readonly options: ChangeFeedOptions) {}

  get size(): number {
    return this.subscribers
  }

  /** An event that happened through this relay. */
  publish(event: ChangeEvent): void {
    this.deliver(event)
    this.options.share?.publish(event)
  }

  private deliver(event: ChangeEvent): void {
    const stored = { seq: ++this.seq, event }
    this.window.push(stored)
    if (this.window.length > this.options.windowSize) this.window.splice(0, this.window.length - this.options.windowSize)
    const id = this.idOf(stored.seq)
    for (const sub of this.byScope.get(event.scope) ?? []) sub.event(id, event)
  }

  /** Subscribes to the scopes, first replaying what came after `lastEventId`. Returns the unsubscribe. */
  subscribe(scopes: string[], sub: Subscriber, lastEventId?: string): () => void {
    for (const scope of scopes) this.follow(scope)
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
        if (set.size === 0) {
          this.byScope.delete(scope)
          this.unfollowLater(scope)
        }
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
    // Resumable only if this process issued the id, nothing after it has left the window, and
    // (with other relays) every scope was followed without a gap since.
    const unfollowed = this.options.share !== undefined && [...scopes].some((s) => (this.following.get(s)?.since ?? Infinity) > seq)
    if (epoch !== this.epoch || !Number.isInteger(seq) || seq > this.seq || seq < oldest - 1 || unfollowed) {
      sub.reset(this.idOf(this.seq))
      return
    }
    for (const stored of this.window) {
      if (stored.seq > seq && scopes.has(stored.event.scope)) sub.event(this.idOf(stored.seq), stored.event)
    }
  }

  private follow(scope: string): void {
    const share = this.options.share
    if (!share) return
    const current = this.following.get(scope)
    if (current) {
      clearTimeout(current.linger)
      current.linger = undefined
      return
    }
    const following: Following = {
      since: ++this.seq,
      stop: share.follow(scope, {
        event: (event) => this.deliver(event),
        gap: () => {
          following.since = ++this.seq
          for (const sub of this.byScope.get(scope) ?? []) sub.reset(this.idOf(following.since))
        },
      }),
    }
    this.following.set(scope, following)
  }

  private unfollowLater(scope: string): void {
    const following = this.following.get(scope)
    if (!following) return
    following.linger = setTimeout(() => {
      following.stop()
      this.following.delete(scope)
    }, this.options.followLingerMs ?? FOLLOW_LINGER_MS).unref()
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
    for (const following of this.following.values()) {
      clearTimeout(following.linger)
      following.stop()
    }
    this.following.clear()
  }
}
