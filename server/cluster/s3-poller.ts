/**
 * S3-only mode (CLUSTER=poll): relays share nothing but the bucket. After every flush a relay
 * rewrites the document's change marker; every POLL_MS each relay HEADs the marker of each
 * document it has open and, only when the ETag moved, lists the document's objects, reads the
 * ones its room does not hold yet and relays what they add to its clients. Cost: one HEAD per
 * open document per poll, plus one PUT per flush; latency: a flush plus up to one poll.
 */
import * as Y from 'yjs'
import type { DocStore } from '../docs/doc-store.js'
import { LOG_DIR, changeMarkerKey, docPrefix, logPrefix, relativeKey, snapPrefix, type DocRef } from '../docs/layout.js'
import { mergeMany } from '../docs/merge.js'
import { decodeSnapshot } from '../docs/snapshot-format.js'
import type { Logger } from '../logger.js'
import { listAll } from '../store/object-store.js'
import type { Cluster, ClusterRoom, RoomLink } from './link.js'
import { Tombstones } from '../docs/tombstones.js'

export interface S3PollerOptions {
  docs: DocStore
  pollMs: number
  instanceId: string
  logger: Logger
}

export class S3Poller implements Cluster {
  readonly mode = 'poll'
  private readonly links = new Set<PollLink>()
  private readonly timer: NodeJS.Timeout
  readonly work = new Set<Promise<unknown>>()

  constructor(readonly options: S3PollerOptions) {
    this.timer = setInterval(() => {
      for (const link of this.links) link.poll()
    }, options.pollMs)
    this.timer.unref()
  }

  link(room: ClusterRoom): RoomLink {
    const link = new PollLink(this, room)
    this.links.add(link)
    return link
  }

  /** Moving the marker makes the other relays look, and find the tombstone. */
  announceDeleted(name: string, ref: DocRef): void {
    this.touchMarker(name, changeMarkerKey(ref), { deleted: true })
  }

  touchMarker(name: string, marker: string, what: Record<string, unknown>): void {
    const body = new TextEncoder().encode(JSON.stringify({ ...what, by: this.options.instanceId, at: new Date().toISOString() }))
    this.track(
      this.options.docs.store
        .put(marker, body, { contentType: 'application/json' })
        .catch((err: unknown) => this.options.logger.warn({ doc: name, err }, 'could not rewrite the change marker; other relays see this change with the next one')),
    )
  }

  unlink(link: PollLink): void {
    this.links.delete(link)
  }

  /** Background storage work, awaited on close. */
  track(promise: Promise<unknown>): void {
    const p = promise.finally(() => this.work.delete(p))
    this.work.add(p)
  }

  unreadyReason(): string | null {
    return null
  }

  async close(): Promise<void> {
    clearInterval(this.timer)
    await Promise.all(this.work)
  }
}

class PollLink implements RoomLink {
  private readonly marker: string
  /** Relative keys of the objects whose content the room holds. */
  private seen: Set<string> | null = null
  /** The marker's ETag when the room last caught up; read before the room lists, so no write slips between. */
  private etag: Promise<string | null>
  private polling = false
  private closed = false

  constructor(
    private readonly poller: S3Poller,
    private readonly room: ClusterRoom,
  ) {
    this.marker = changeMarkerKey(room.ref)
    this.etag = this.headMarker()
    this.etag.catch(() => {})
  }

  private async headMarker(): Promise<string | null> {
    return (await this.poller.options.docs.store.head(this.marker))?.etag ?? null
  }

  loaded(contains: string[]): void {
    this.seen = new Set(contains)
  }

  update(): void {}

  awareness(): void {}

  persisted(_localUpdates: number, logKey: string): void {
    this.seen?.add(relativeKey(this.room.ref, logKey))
    this.touchMarker({ log: logKey })
  }

  private touchMarker(what: Record<string, unknown>): void {
    this.poller.touchMarker(this.room.name, this.marker, what)
  }

  poll(): void {
    if (this.polling || this.closed || !this.seen || !this.room.isReady) return
    this.polling = true
    this.poller.track(
      this.catchUp()
        .catch((err: unknown) => this.poller.options.logger.warn({ doc: this.room.name, err }, 'polling for other relays\' writes failed; will retry'))
        .finally(() => {
          this.polling = false
        }),
    )
  }

  private async catchUp(): Promise<void> {
    const before = await this.etag.catch(() => undefined)
    const now = await this.headMarker()
    if (now === before) return
    // Set before listing: a flush landing after the listing moves the marker again.
    this.etag = Promise.resolve(now)
    const { store } = this.poller.options.docs
    const ref = this.room.ref
    const tombstone = await new Tombstones(store).ofDoc(ref)
    if (tombstone) {
      this.room.receiveDeleted(tombstone)
      return
    }
    const fresh: string[] = []
    for (const prefix of [snapPrefix(ref), logPrefix(ref)]) {
      for await (const o of listAll(store, prefix)) {
        if (!o.key.endsWith('.bin')) continue
        const rel = relativeKey(ref, o.key)
        if (!this.seen!.has(rel)) fresh.push(rel)
      }
    }
    if (fresh.length === 0) return
    const bodies = await Promise.all(fresh.map((rel) => store.get(docPrefix(ref) + rel)))
    const updates: Uint8Array[] = []
    bodies.forEach((bytes, i) => {
      const rel = fresh[i]!
      // A compactor deleted it after the listing: its content is in a snapshot the next look finds.
      if (!bytes) {
        this.etag = Promise.resolve(null)
        return
      }
      updates.push(rel.startsWith(LOG_DIR) ? bytes : decodeSnapshot(bytes).update)
      this.seen!.add(rel)
    })
    if (updates.length === 0 || this.closed) return
    const added = Y.diffUpdate(mergeMany(updates), this.room.stateVector())
    this.room.receiveRemote(added)
  }

  close(): void {
    this.closed = true
    this.poller.unlink(this)
  }
}
