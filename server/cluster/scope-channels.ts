/**
 * Per-scope JSON channels on Redis, for what relays share about a scope rather than a room:
 * the change feed (`<prefix>feed:<scope>`) and usage changes (`<prefix>usage:<scope>`). A
 * message is `{from, ...body}`, or `{from, gap: true}` from a relay that could not publish for
 * a while. Pub/sub keeps nothing for a relay that was not listening, so followers are told of
 * every gap — theirs or a publisher's — and refetch instead of trusting what they hold.
 */
import type { Redis } from 'ioredis'
import { z } from 'zod'
import { changeEventSchema, type FeedShare } from '../events/change-feed.js'
import type { Logger } from '../logger.js'
import { usageChangeSchema, type UsageShare } from '../quota/usage.js'

interface Handlers {
  message(body: Record<string, unknown>): void
  gap(): void
}

const envelope = z.looseObject({ from: z.string(), gap: z.literal(true).optional() })
const feedBody = z.object({ event: changeEventSchema })
const usageBody = z.object({ change: usageChangeSchema })

export class ScopeChannels {
  private readonly followers = new Map<string, Set<Handlers>>()
  /** Channels this relay could not publish to since Redis was last up. */
  private readonly missed = new Set<string>()

  readonly feed: FeedShare = {
    publish: (event) => this.publish(this.channel('feed', event.scope), { event }),
    follow: (scope, handlers) =>
      this.followParsed('feed', scope, feedBody.refine((b) => b.event.scope === scope), (b) => handlers.event(b.event), () => handlers.gap()),
  }

  readonly usage: UsageShare = {
    publish: (scope, change) => this.publish(this.channel('usage', scope), { change }),
    follow: (scope, handlers) => this.followParsed('usage', scope, usageBody, (b) => handlers.change(b.change), () => handlers.gap()),
  }

  constructor(
    private readonly options: {
      pub: Redis
      sub: Redis
      prefix: string
      instanceId: string
      logger: Logger
      /** Whether the subscriber connection is up and subscribed to what it follows. */
      subscribed(): boolean
      /** Whether publishing now can reach the others (both connections up). */
      publishable(): boolean
      failed(err: unknown): void
    },
  ) {}

  /** Every channel followed now, to subscribe to after (re)connecting. */
  channels(): string[] {
    return [...this.followers.keys()]
  }

  /** Subscribed again after an outage: followers may have missed messages, and others ours. */
  resubscribed(previouslyFollowed: string[]): void {
    for (const channel of previouslyFollowed) for (const handlers of this.followers.get(channel) ?? []) handlers.gap()
    for (const channel of this.missed) this.send(channel, { from: this.options.instanceId, gap: true })
    this.missed.clear()
  }

  /** Handles a message if it is on one of these channels; false when it is not. */
  onMessage(channel: string, bytes: Buffer): boolean {
    const followers = this.followers.get(channel)
    if (!followers) return false
    let parsed: z.infer<typeof envelope> | null = null
    try {
      parsed = envelope.parse(JSON.parse(bytes.toString()))
    } catch {
      this.options.logger.warn({ channel }, 'ignoring a message that is not JSON with a sender on a scope channel')
    }
    if (!parsed || parsed.from === this.options.instanceId) return true
    for (const handlers of followers) {
      if (parsed.gap) handlers.gap()
      else handlers.message(parsed)
    }
    return true
  }

  private channel(kind: 'feed' | 'usage', scope: string): string {
    return `${this.options.prefix}${kind}:${scope === '' ? '/' : scope}`
  }

  private publish(channel: string, body: Record<string, unknown>): void {
    this.send(channel, { from: this.options.instanceId, ...body })
  }

  private send(channel: string, message: Record<string, unknown>): void {
    if (!this.options.publishable()) {
      this.missed.add(channel)
      return
    }
    this.options.pub.publish(channel, JSON.stringify(message)).catch((err: unknown) => {
      this.missed.add(channel)
      this.options.failed(err)
    })
  }

  /** Follows a scope's channel of one kind, handing on bodies the schema accepts. */
  private followParsed<T>(kind: 'feed' | 'usage', scope: string, schema: z.ZodType<T>, deliver: (body: T) => void, gap: () => void): () => void {
    return this.follow(this.channel(kind, scope), {
      message: (body) => {
        const parsed = schema.safeParse(body)
        if (parsed.success) deliver(parsed.data)
        else this.options.logger.warn({ scope, kind }, `ignoring a malformed message on a ${kind} channel`)
      },
      gap,
    })
  }

  private follow(channel: string, handlers: Handlers): () => void {
    let set = this.followers.get(channel)
    if (!set) {
      this.followers.set(channel, (set = new Set()))
      if (this.options.subscribed()) this.options.sub.subscribe(channel).catch((err: unknown) => this.options.failed(err))
    }
    set.add(handlers)
    return () => {
      if (!set.delete(handlers) || set.size > 0) return
      this.followers.delete(channel)
      if (this.options.subscribed()) this.options.sub.unsubscribe(channel).catch((err: unknown) => this.options.failed(err))
    }
  }
}
