/**
 * Redis mode: every relay that has a room open subscribes to the room's channel and publishes
 * its local clients' updates and awareness there. A relay opening a room loads it from storage
 * and then asks the others for what storage lacks (step 1 / step 2, as clients do).
 *
 * Durability: each relay persists only what its own clients sent. The others keep a remote
 * update until its sender announces it durable ("saved"); one still unannounced after
 * `adoptMs` (the sender crashed, or Redis lost the announcement) is written by every relay
 * holding it. Yjs updates are idempotent, so a doubled write costs bytes, never correctness.
 *
 * Redis down: relays keep serving their own clients, report not-ready, and when Redis answers
 * again they subscribe anew and run the step 1 / step 2 exchange for every open room.
 *
 * What concerns a scope rather than a room (change feed, usage changes) goes on per-scope
 * channels (scope-channels.ts).
 */
import { Redis, type RedisOptions } from 'ioredis'
import type { DocStore } from '../docs/doc-store.js'
import type { DocRef } from '../docs/layout.js'
import type { Tombstone } from '../docs/tombstones.js'
import { mergeMany } from '../docs/merge.js'
import type { Logger } from '../logger.js'
import type { Metrics } from '../metrics.js'
import { BusKind, decodeBusMessage, encodeBusMessage, type BusBody, type BusMessage } from './bus-message.js'
import type { Cluster, ClusterRoom, RoomLink } from './link.js'
import { ScopeChannels } from './scope-channels.js'

export interface RedisBusOptions {
  url: string
  /** Prepended to every channel name, so deployments can share one Redis. */
  prefix: string
  instanceId: string
  docs: DocStore
  /** How long an update from another relay may stay unannounced before this relay writes it. */
  adoptMs: number
  logger: Logger
  metrics?: Metrics
}

const MAX_RECONNECT_DELAY_MS = 1000

export class RedisBus implements Cluster {
  readonly mode = 'redis'
  private readonly pub: Redis
  private readonly sub: Redis
  private readonly links = new Map<string, RedisLink>()
  private nextEpoch = 1
  /** Subscribed to every open room's channel since the subscriber last connected. */
  private subscribed = false
  /** Publishes failed since the last exchange: run it again once both connections are up. */
  private needsResync = false
  private lastError = 'connecting'
  private readonly writes = new Set<Promise<unknown>>()
  private closed = false
  private readonly scopes: ScopeChannels

  constructor(readonly options: RedisBusOptions) {
    const common: RedisOptions = {
      // Commands fail at once while Redis is away instead of queueing without bound; the
      // exchange after reconnecting carries whatever was missed.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (times) => Math.min(times * 100, MAX_RECONNECT_DELAY_MS),
      connectionName: `yrelay-${options.instanceId}`,
    }
    options.metrics?.redisConnected.set(0)
    this.pub = new Redis(options.url, common)
    this.sub = new Redis(options.url, { ...common, autoResubscribe: false })
    for (const [role, conn] of [['publisher', this.pub], ['subscriber', this.sub]] as const) {
      conn.on('error', (err: Error) => {
        this.lastError = err.message
        options.logger.debug({ err: err.message, role }, 'redis error')
      })
      conn.on('close', () => {
        if (this.closed) return
        const wasUp = this.unreadyReason() === null
        if (role === 'subscriber') this.subscribed = false
        else this.needsResync = true
        this.options.metrics?.redisConnected.set(0)
        if (this.lastError === '') this.lastError = `${role} connection closed`
        if (wasUp) options.logger.warn({ role, reason: this.lastError }, 'redis connection lost; serving local clients only until it returns')
      })
      conn.on('ready', () => void this.onReady())
    }
    this.sub.on('messageBuffer', (channel: Buffer, message: Buffer) => this.onMessage(channel.toString(), message))
    this.scopes = new ScopeChannels({
      pub: this.pub,
      sub: this.sub,
      prefix: options.prefix,
      instanceId: options.instanceId,
      logger: options.logger,
      subscribed: () => this.subscribed,
      publishable: () => this.subscribed && this.pub.status === 'ready',
      failed: (err) => this.failed(err),
    })
  }

  get feed(): ScopeChannels['feed'] {
    return this.scopes.feed
  }

  get usage(): ScopeChannels['usage'] {
    return this.scopes.usage
  }

  link(room: ClusterRoom): RoomLink {
    const channel = `${this.options.prefix}room:${room.name}`
    const link = new RedisLink(this, room, channel, this.nextEpoch++)
    this.links.set(channel, link)
    if (this.subscribed) {
      this.sub.subscribe(channel).then(
        () => link.markSubscribed(),
        (err: unknown) => this.failed(err),
      )
    }
    return link
  }

  announceDeleted(name: string, _ref: DocRef, tombstone: Tombstone): void {
    const msg = { kind: BusKind.DELETED, from: this.options.instanceId, epoch: 0, to: '', deletedAt: tombstone.deletedAt, deletedBy: tombstone.deletedBy } as const
    this.publish(`${this.options.prefix}room:${name}`, msg)
  }

  unlink(link: RedisLink): void {
    if (this.links.get(link.channel) !== link) return
    this.links.delete(link.channel)
    if (this.subscribed) this.sub.unsubscribe(link.channel).catch((err: unknown) => this.failed(err))
  }

  unreadyReason(): string | null {
    if (this.subscribed && this.pub.status === 'ready') return null
    return `Redis at ${redactedAddress(this.options.url)} unreachable (${this.lastError}): updates of other relays do not reach this relay's clients`
  }

  /** Both connections up: subscribe to every open room and run the exchange for each. */
  private async onReady(): Promise<void> {
    if (this.pub.status !== 'ready' || this.sub.status !== 'ready') return
    if (this.subscribed && !this.needsResync) return
    const links = [...this.links.values()]
    if (!this.subscribed) {
      const followed = this.scopes.channels()
      try {
        const channels = [...links.map((l) => l.channel), ...followed]
        if (channels.length > 0) await this.sub.subscribe(...channels)
      } catch (err) {
        this.failed(err)
        return
      }
      this.subscribed = true
      this.scopes.resubscribed(followed)
    } else {
      this.scopes.resubscribed([])
    }
    this.needsResync = false
    this.lastError = ''
    this.options.metrics?.redisConnected.set(1)
    this.options.logger.info({ rooms: links.length }, 'redis connected; resynchronising open rooms')
    for (const link of links) link.markSubscribed()
  }

  publish(channel: string, msg: BusMessage): void {
    if (!this.subscribed) return
    this.pub.publish(channel, encodeBusMessage(msg)).catch((err: unknown) => this.failed(err))
  }

  private failed(err: unknown): void {
    this.needsResync = true
    this.lastError = (err as Error).message
    this.options.logger.debug({ err: this.lastError }, 'redis command failed')
  }

  private onMessage(channel: string, bytes: Buffer): void {
    if (this.scopes.onMessage(channel, bytes)) return
    const link = this.links.get(channel)
    if (!link) return
    let msg: BusMessage
    try {
      msg = decodeBusMessage(bytes)
    } catch (err) {
      this.options.logger.warn({ channel, err: (err as Error).message }, 'ignoring a malformed message on a room channel')
      return
    }
    if (msg.from === this.options.instanceId || (msg.to !== '' && msg.to !== this.options.instanceId)) return
    link.onMessage(msg)
  }

  /** Writes updates another relay may never persist, off the room (which is unloading). */
  writeOrphans(link: RedisLink, update: Uint8Array): void {
    const write = this.options.docs
      .appendLog(link.room.ref, update)
      .catch((err: unknown) => this.options.logger.warn({ doc: link.room.name, err }, 'could not write updates of a silent relay; clients still hold them'))
      .finally(() => this.writes.delete(write))
    this.writes.add(write)
  }

  async close(): Promise<void> {
    this.closed = true
    await Promise.all(this.writes)
    this.pub.disconnect()
    this.sub.disconnect()
  }
}

/** A remote update not yet announced durable by the relay whose client sent it. */
interface Unconfirmed {
  n: number
  update: Uint8Array
  at: number
}

class RedisLink implements RoomLink {
  private localUpdates = 0
  private localDurable = 0
  private isLoaded = false
  private isSubscribed = false
  /** By sender instance and room epoch. */
  private readonly unconfirmed = new Map<string, Unconfirmed[]>()
  private adoptTimer: NodeJS.Timeout | undefined

  constructor(
    private readonly bus: RedisBus,
    readonly room: ClusterRoom,
    readonly channel: string,
    private readonly epoch: number,
  ) {}

  private send(body: BusBody, to = ''): void {
    this.bus.publish(this.channel, { ...body, from: this.bus.options.instanceId, epoch: this.epoch, to })
  }

  loaded(): void {
    this.isLoaded = true
    this.askPeers()
  }

  markSubscribed(): void {
    this.isSubscribed = true
    this.askPeers()
  }

  /** Step 1 to every relay with the room open; each answers with step 2 and its own step 1. */
  private askPeers(): void {
    if (!this.isLoaded || !this.isSubscribed || !this.room.isReady) return
    this.send({ kind: BusKind.STEP1, answerBack: true, stateVector: this.room.stateVector() })
    const awareness = this.room.localAwarenessFrame()
    if (awareness) this.send({ kind: BusKind.AWARENESS, frame: awareness })
  }

  update(update: Uint8Array): void {
    this.send({ kind: BusKind.UPDATE, n: ++this.localUpdates, update })
  }

  awareness(frame: Uint8Array): void {
    this.send({ kind: BusKind.AWARENESS, frame })
  }

  persisted(localUpdates: number): void {
    this.localDurable = localUpdates
    this.send({ kind: BusKind.SAVED, n: localUpdates })
  }

  onMessage(msg: BusMessage): void {
    switch (msg.kind) {
      case BusKind.UPDATE:
        this.room.receiveRemote(msg.update)
        this.hold(msg, msg.n, msg.update)
        break
      case BusKind.AWARENESS:
        this.room.receiveRemoteAwareness(msg.frame)
        break
      case BusKind.STEP1: {
        // Still loading: this relay sends its own step 1 once loaded, and gets the same answer.
        if (!this.room.isReady) return
        const unwritten = this.localUpdates > this.localDurable ? this.localUpdates : 0
        this.send({ kind: BusKind.STEP2, n: unwritten, update: this.room.diffFor(msg.stateVector) }, msg.from)
        if (msg.answerBack) {
          this.send({ kind: BusKind.STEP1, answerBack: false, stateVector: this.room.stateVector() }, msg.from)
          const awareness = this.room.localAwarenessFrame()
          if (awareness) this.send({ kind: BusKind.AWARENESS, frame: awareness }, msg.from)
        }
        break
      }
      case BusKind.STEP2:
        this.room.receiveRemote(msg.update)
        // It may carry the sender's unwritten updates: held like live ones until it says saved.
        if (msg.n > 0) this.hold(msg, msg.n, msg.update)
        break
      case BusKind.DELETED:
        // Updates held for other relays die with the document.
        this.unconfirmed.clear()
        this.room.receiveDeleted({ deletedAt: msg.deletedAt, deletedBy: msg.deletedBy, name: this.room.name })
        break
      case BusKind.SAVED: {
        const origin = `${msg.from}:${msg.epoch}`
        const list = this.unconfirmed.get(origin)
        if (!list) return
        const rest = list.filter((u) => u.n > msg.n)
        if (rest.length > 0) this.unconfirmed.set(origin, rest)
        else this.unconfirmed.delete(origin)
        break
      }
    }
  }

  private hold(msg: BusMessage, n: number, update: Uint8Array): void {
    const origin = `${msg.from}:${msg.epoch}`
    let list = this.unconfirmed.get(origin)
    if (!list) this.unconfirmed.set(origin, (list = []))
    list.push({ n, update, at: Date.now() })
    this.armAdoption()
  }

  private armAdoption(): void {
    if (this.adoptTimer) return
    this.adoptTimer = setTimeout(() => {
      this.adoptTimer = undefined
      this.adoptSilent()
      if (this.unconfirmed.size > 0) this.armAdoption()
    }, this.bus.options.adoptMs / 2)
    this.adoptTimer.unref()
  }

  /** Writes the updates whose senders did not announce them durable in time. */
  private adoptSilent(): void {
    const cutoff = Date.now() - this.bus.options.adoptMs
    const adopted: Uint8Array[] = []
    for (const [origin, list] of this.unconfirmed) {
      const stale = list.filter((u) => u.at <= cutoff)
      if (stale.length === 0) continue
      adopted.push(...stale.map((u) => u.update))
      const rest = list.filter((u) => u.at > cutoff)
      if (rest.length > 0) this.unconfirmed.set(origin, rest)
      else this.unconfirmed.delete(origin)
      this.bus.options.logger.info({ doc: this.room.name, origin, updates: stale.length }, 'writing updates another relay did not confirm as durable')
    }
    if (adopted.length > 0) this.room.persistRemote(mergeMany(adopted))
  }

  close(): void {
    clearTimeout(this.adoptTimer)
    const orphans = [...this.unconfirmed.values()].flat().map((u) => u.update)
    this.unconfirmed.clear()
    if (orphans.length > 0) this.bus.writeOrphans(this, mergeMany(orphans))
    this.bus.unlink(this)
  }
}

/** host:port of a Redis URL, never its password. */
function redactedAddress(url: string): string {
  try {
    const u = new URL(url)
    return `${u.hostname}:${u.port || '6379'}`
  } catch {
    return '(invalid REDIS_URL)'
  }
}
