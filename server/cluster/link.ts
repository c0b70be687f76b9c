/**
 * How a room and the other relays serving the same document meet. A room holds an optional
 * RoomLink and tells it what happens locally; the cluster (Redis bus or S3 poller) calls the
 * room's remote-facing methods (ClusterRoom) with what happens elsewhere.
 */
import type { DocRef } from '../docs/layout.js'
import type { Tombstone } from '../docs/tombstones.js'
import type { FeedShare } from '../events/change-feed.js'
import type { UsageShare } from '../quota/usage.js'

/** What a room tells the other relays. Every method returns at once; none throws. */
export interface RoomLink {
  /**
   * The room has loaded from storage, holding the objects `contains` names (keys relative to
   * the document's prefix): ask the other relays for what storage lacked.
   */
  loaded(contains: string[]): void
  /** A non-empty update a local client sent (validated); this relay persists it. */
  update(update: Uint8Array): void
  /** An awareness frame from (or about) local clients. */
  awareness(frame: Uint8Array): void
  /** The first `localUpdates` updates passed to update() are durable; the last flush wrote `logKey`. */
  persisted(localUpdates: number, logKey: string): void
  /** The room unloads. */
  close(): void
}

/** The room as the cluster sees it. */
export interface ClusterRoom {
  readonly name: string
  readonly ref: DocRef
  /** True once loaded (and not closed): remote state may be merged and relayed. */
  readonly isReady: boolean
  /** An update from another relay: relayed to local clients and merged, not persisted here. */
  receiveRemote(update: Uint8Array): void
  /** An update another relay may never persist (it went silent): this relay writes it. */
  persistRemote(update: Uint8Array): void
  /** An awareness frame from another relay: relayed to local clients and remembered. */
  receiveRemoteAwareness(frame: Uint8Array): void
  stateVector(): Uint8Array
  /** What this relay holds that a holder of `stateVector` lacks, as one update. */
  diffFor(stateVector: Uint8Array): Uint8Array
  /** Another relay deleted the document: refuse local clients with 4404 and unload. */
  receiveDeleted(tombstone: Tombstone): void
  /** The awareness states of this relay's own clients as one frame, or null when there are none. */
  localAwarenessFrame(): Uint8Array | null
}

/** A way for relays to share rooms (Redis, or polling the store). */
export interface Cluster {
  readonly mode: 'redis' | 'poll'
  link(room: ClusterRoom): RoomLink
  /** A document was deleted through this relay (its tombstone is stored): tell the relays that have it open. */
  announceDeleted(name: string, ref: DocRef, tombstone: Tombstone): void
  /** Change-feed events of other relays (Redis mode; polling relays have none). */
  readonly feed?: FeedShare
  /** Usage changes of other relays (Redis mode). */
  readonly usage?: UsageShare
  /** Null when healthy, else why not (for /readyz). */
  unreadyReason(): string | null
  close(): Promise<void>
}
