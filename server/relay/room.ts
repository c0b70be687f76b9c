/**
 * One open document: its peers, its state as update bytes, its awareness, and its
 * persistence schedule. The per-message path (onUpdate, onAwareness) validates once and
 * forwards the received bytes; merging, writing and compaction run on timers.
 */
import * as Y from 'yjs'
import { ErrorCode, YrelayError } from '../../shared/errors.js'
import {
  encodeAwarenessMessage,
  encodeSaved,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncUpdate,
  isEmptyUpdate,
  parseAwarenessUpdate,
  parseMessage,
  step2FrameAsUpdate,
  type AwarenessEntry,
} from '../../shared/protocol.js'
import type { ClusterRoom, RoomLink } from '../cluster/link.js'
import type { CompactionResult, DocStore } from '../docs/doc-store.js'
import { mergeMany } from '../docs/merge.js'
import { checkUpdate } from './check-update.js'
import type { DocRef } from '../docs/layout.js'
import type { Tombstone, Tombstones } from '../docs/tombstones.js'
import { deleteDocObjects } from '../docs/doc-deletion.js'
import type { Logger } from '../logger.js'
import type { Metrics } from '../metrics.js'
import type { WriteBacklog } from './write-backlog.js'

export interface RoomOptions {
  flushMs: number
  flushBytes: number
  compactLogCount: number
  compactLogBytes: number
  /** Shared by every room: accepted bytes not yet written, bounded relay-wide. */
  backlog: WriteBacklog
}

/** A connection as the room sees it. */
export interface Peer {
  readonly id: number
  /** Opted in to extension messages. */
  readonly ext: boolean
  /** Update messages (sync step 2 or update) received on this connection. */
  receivedUpdates: number
  /** Update messages acknowledged as durable with a *saved* message. */
  savedUpdates: number
  /** Awareness client ids this connection introduced, removed for everyone when it leaves. */
  readonly awarenessIds: Set<number>
  send(frame: Uint8Array): void
  close(code: number, reason: string): void
  /** Tells the client why (error extension) and closes with the code the error maps to. */
  refuse(error: YrelayError): void
}

/** Told about a room's accepted and stored bytes (usage accounting, the change feed). */
export interface RoomObserver {
  accepted(room: Room, bytes: number): void
  /** Accepted updates were written as `written` bytes, or dropped (written = 0). */
  settled(room: Room, acceptedBytes: number, written: number): void
  compacted(room: Room, result: CompactionResult): void
}

export interface RoomServices {
  docs: DocStore
  tombstones: Tombstones
  observer?: RoomObserver
}

/** The refusal for a deleted document, with the tombstone's facts for the client. */
export function docDeletedError(name: string, tombstone: Tombstone): YrelayError {
  const by = tombstone.deletedBy ? ` by ${tombstone.deletedBy}` : ''
  return new YrelayError(ErrorCode.DOC_DELETED, `document ${name} was deleted at ${tombstone.deletedAt}${by}; it cannot be edited or re-created by syncing`, {
    details: { deletedAt: tombstone.deletedAt, deletedBy: tombstone.deletedBy },
  })
}

const EMPTY_UPDATE: Uint8Array = new Uint8Array([0, 0])
const EMPTY_STATE_VECTOR_LENGTH = 1
const REPLY_CACHE_SIZE = 16
const MAX_RETRY_MS = 30_000
const FIRST_RETRY_MS = 250
const FLUSH_JITTER = 0.2
const REMOTE_AWARENESS_TIMEOUT_MS = 30_000

export type RoomState = 'loading' | 'ready' | 'failed' | 'deleted' | 'closed'

export class Room implements ClusterRoom {
  readonly peers = new Set<Peer>()
  state: RoomState = 'loading'
  readonly ready: Promise<void>

  private base: Uint8Array = EMPTY_UPDATE
  private recent: Uint8Array[] = []
  private recentBytes = 0
  /** Requests (HTTP API) using the room without a connection; it does not unload while held. */
  private holds = 0
  private version = 0
  private stateVectorOf: { version: number; sv: Uint8Array } = { version: -1, sv: new Uint8Array(0) }
  private replies = new Map<string, Uint8Array>()
  private repliesVersion = 0

  /** `remoteAt`: when another relay last renewed the state (absent for this relay's clients). */
  private readonly awareness = new Map<number, { clock: number; stateJson: string; remoteAt?: number }>()

  private pending: Uint8Array[] = []
  private pendingBytes = 0
  private timer: NodeJS.Timeout | undefined
  private writing: Promise<void> | null = null
  private retryMs = 0
  private lastWriteError: unknown = null

  /** Non-empty updates from local clients: pending (not yet written) and written. */
  private localPending = 0
  private localWritten = 0
  private readonly link: RoomLink | undefined

  /** Set once the document is deleted: whoever joins while its last write finishes is refused too. */
  private deletion: YrelayError | null = null

  private logsSinceCompaction = 0
  private logBytesSinceCompaction = 0
  private compacting: Promise<void> | null = null

  private readonly docs: DocStore

  constructor(
    readonly name: string,
    readonly ref: DocRef,
    private readonly services: RoomServices,
    private readonly options: RoomOptions,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    private readonly onIdle: (room: Room) => void,
    linkTo?: (room: ClusterRoom) => RoomLink,
  ) {
    this.docs = services.docs
    this.link = linkTo?.(this)
    this.ready = this.load()
    // Connections waiting on the room see the failure; nothing else must crash on it.
    this.ready.catch(() => {})
  }

  private async load(): Promise<void> {
    const started = performance.now()
    try {
      const [loaded, tombstone] = await Promise.all([this.docs.load(this.ref), this.services.tombstones.ofDoc(this.ref)])
      if (tombstone) {
        this.refuseAll(docDeletedError(this.name, tombstone))
        this.state = 'deleted'
        this.onIdle(this)
        throw docDeletedError(this.name, tombstone)
      }
      if (this.state !== 'loading') throw new YrelayError(ErrorCode.DOC_DELETED, `document ${this.name} was deleted`)
      this.base = loaded.update
      this.logsSinceCompaction = loaded.logCount
      this.logBytesSinceCompaction = loaded.logBytes
      this.state = 'ready'
      this.link?.loaded(loaded.contains)
      this.logger.debug({ doc: this.name, ms: Math.round(performance.now() - started), bytes: this.base.byteLength }, 'room loaded')
      this.maybeCompact()
      // Everyone may have left while it loaded.
      this.checkIdle()
    } catch (err) {
      if (err instanceof YrelayError && err.code === ErrorCode.DOC_DELETED) throw err
      this.state = 'failed'
      this.logger.error({ doc: this.name, err }, 'room failed to load')
      this.refuseAll(new YrelayError(ErrorCode.STORAGE_UNAVAILABLE, 'storage unavailable; retry shortly'))
      this.onIdle(this)
      throw new YrelayError(ErrorCode.STORAGE_UNAVAILABLE, `could not load ${this.name}`, { cause: err })
    }
  }

  private refuseAll(error: YrelayError): void {
    for (const peer of this.peers) peer.refuse(error)
    this.peers.clear()
  }

  /** Bytes of the document's state, counting unmerged updates in full (an upper bound). */
  get approxBytes(): number {
    return this.base.byteLength + this.recentBytes
  }

  join(peer: Peer): void {
    if (this.deletion) {
      peer.refuse(this.deletion)
      return
    }
    this.peers.add(peer)
  }

  /** Sends the relay's half of the handshake; called once the room is ready. */
  greet(peer: Peer): void {
    peer.send(encodeSyncStep1(this.stateVector()))
    const entries = this.awarenessEntries()
    if (entries.length > 0) peer.send(encodeAwarenessMessage(entries))
  }

  onSyncStep1(peer: Peer, stateVector: Uint8Array): void {
    peer.send(this.replyTo(stateVector))
  }

  /** A sync step 2 or update frame: validated once, forwarded as received, persisted later. */
  onUpdate(peer: Peer, frame: Uint8Array, syncType: 1 | 2, update: Uint8Array): void {
    checkUpdate(update)
    peer.receivedUpdates++
    if (isEmptyUpdate(update)) {
      if (!peer.ext) return
      // Nothing to write: durable as soon as everything before it is.
      if (this.pending.length === 0 && !this.writing) {
        peer.savedUpdates = peer.receivedUpdates
        peer.send(encodeSaved(peer.savedUpdates))
      } else {
        this.scheduleFlush()
      }
      return
    }
    if (this.options.backlog.full) {
      throw new YrelayError(
        ErrorCode.WRITE_BACKLOG_FULL,
        `storage is not keeping up: ${this.options.backlog.bytes} bytes are waiting to be written; your change was not applied, retry shortly`,
      )
    }
    this.broadcast(syncType === 2 ? frame : step2FrameAsUpdate(frame), peer)
    this.metrics.updatesIn.inc()
    this.metrics.updatesOut.inc(this.peers.size - 1)
    this.metrics.updateBytesIn.inc(update.byteLength)
    this.accept(update)
  }

  /** An update from the HTTP API: validated, sent to every peer, persisted like any other. */
  applyUpdate(update: Uint8Array): void {
    if (this.deletion) throw this.deletion
    if (this.state !== 'ready') throw new YrelayError(ErrorCode.STORAGE_UNAVAILABLE, `document ${this.name} is not loaded; retry`)
    try {
      Y.decodeUpdate(update)
    } catch (err) {
      throw new YrelayError(ErrorCode.BAD_MESSAGE, 'body is not a valid Yjs update', { cause: err })
    }
    if (isEmptyUpdate(update)) return
    this.broadcast(encodeSyncUpdate(update))
    this.accept(update)
  }

  private accept(update: Uint8Array): void {
    this.recent.push(update)
    this.recentBytes += update.byteLength
    this.version++
    this.pending.push(update)
    this.pendingBytes += update.byteLength
    this.localPending++
    this.options.backlog.accepted(update.byteLength)
    this.link?.update(update)
    this.services.observer?.accepted(this, update.byteLength)
    this.scheduleFlush()
  }

  /** Keeps the room loaded without a connection (an HTTP request working on it). */
  hold(): void {
    this.holds++
  }

  release(): void {
    this.holds--
    this.checkIdle()
  }

  /**
   * The document was deleted: every peer is refused with the tombstone's facts (and so is any
   * that joins meanwhile), pending updates are dropped, and the room unloads once a write or
   * compaction already under way has finished (so the caller can then delete every stored
   * object, those included).
   */
  async delete(tombstone: Tombstone, options: { remote?: boolean } = {}): Promise<void> {
    if (this.state === 'deleted' || this.state === 'closed') return
    this.state = 'deleted'
    this.deletion = docDeletedError(this.name, tombstone)
    this.refuseAll(this.deletion)
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    const dropped = this.pendingBytes
    this.pending = []
    this.pendingBytes = 0
    this.localPending = 0
    this.options.backlog.written(dropped)
    this.services.observer?.settled(this, dropped, 0)
    await this.writing
    await this.compacting
    // Deleted through another relay: what this one wrote meanwhile goes too.
    if (options.remote) await deleteDocObjects(this.docs.store, this.ref).catch((err: unknown) => this.logger.warn({ doc: this.name, err }, 'could not remove objects of a deleted document'))
    this.onIdle(this)
  }

  receiveDeleted(tombstone: Tombstone): void {
    void this.delete(tombstone, { remote: true })
  }

  get isReady(): boolean {
    return this.state === 'ready'
  }

  receiveRemote(update: Uint8Array): void {
    if (isEmptyUpdate(update) || this.state === 'closed' || this.state === 'failed' || this.state === 'deleted') return
    // While loading, clients have not been answered yet: their sync reply will include it.
    if (this.state === 'ready') this.broadcast(encodeSyncUpdate(update))
    this.recent.push(update)
    this.recentBytes += update.byteLength
    this.version++
  }

  persistRemote(update: Uint8Array): void {
    if (this.state !== 'ready') return
    this.pending.push(update)
    this.pendingBytes += update.byteLength
    this.options.backlog.accepted(update.byteLength)
    this.services.observer?.accepted(this, update.byteLength)
    this.scheduleFlush()
  }

  receiveRemoteAwareness(frame: Uint8Array): void {
    const msg = parseMessage(frame)
    if (msg.type !== 'awareness') throw new Error(`expected an awareness frame, got ${msg.type}`)
    this.applyAwareness(parseAwarenessUpdate(msg.update), undefined, Date.now())
    this.broadcast(frame)
  }

  diffFor(stateVector: Uint8Array): Uint8Array {
    return Y.diffUpdate(this.currentState(), stateVector)
  }

  localAwarenessFrame(): Uint8Array | null {
    const entries = this.awarenessEntries().filter((e) => [...this.peers].some((p) => p.awarenessIds.has(e.clientId)))
    return entries.length > 0 ? encodeAwarenessMessage(entries) : null
  }

  onAwareness(peer: Peer, frame: Uint8Array, update: Uint8Array): void {
    let entries: AwarenessEntry[]
    try {
      entries = parseAwarenessUpdate(update)
    } catch (err) {
      throw new YrelayError(ErrorCode.BAD_MESSAGE, 'malformed awareness update', { cause: err })
    }
    this.applyAwareness(entries, peer)
    // Echoed to the sender too, as the reference server does: y-websocket clients reconnect
    // after 30 s without any message, and their own awareness renewal keeps a lone client alive.
    this.broadcast(frame)
    this.link?.awareness(frame)
  }

  /** Newer states replace older ones; `owner` is the local connection that introduced them. */
  private applyAwareness(entries: AwarenessEntry[], owner?: Peer, remoteAt?: number): void {
    for (const e of entries) {
      const current = this.awareness.get(e.clientId)
      const removal = e.stateJson === 'null'
      if (current && (e.clock < current.clock || (e.clock === current.clock && !removal))) continue
      if (removal) {
        this.awareness.delete(e.clientId)
        owner?.awarenessIds.delete(e.clientId)
      } else {
        this.awareness.set(e.clientId, { clock: e.clock, stateJson: e.stateJson, remoteAt })
        owner?.awarenessIds.add(e.clientId)
      }
    }
  }

  onQueryAwareness(peer: Peer): void {
    peer.send(encodeAwarenessMessage(this.awarenessEntries()))
  }

  leave(peer: Peer): void {
    if (!this.peers.delete(peer)) return
    if (peer.awarenessIds.size > 0) {
      const removals: AwarenessEntry[] = []
      for (const clientId of peer.awarenessIds) {
        const current = this.awareness.get(clientId)
        if (!current) continue
        this.awareness.delete(clientId)
        removals.push({ clientId, clock: current.clock + 1, stateJson: 'null' })
      }
      if (removals.length > 0) {
        const frame = encodeAwarenessMessage(removals)
        this.broadcast(frame)
        this.link?.awareness(frame)
      }
    }
    if (this.peers.size === 0 && this.state === 'ready') {
      if (this.pending.length > 0) this.startWrite()
      else this.checkIdle()
    }
  }

  private broadcast(frame: Uint8Array, except?: Peer): void {
    for (const peer of this.peers) if (peer !== except) peer.send(frame)
  }

  private awarenessEntries(): AwarenessEntry[] {
    // Clients renew their state every 15 s; one another relay stopped renewing (it crashed with
    // its clients' removals unsent) is dropped after 30 s, as y-protocols clients do.
    const cutoff = Date.now() - REMOTE_AWARENESS_TIMEOUT_MS
    for (const [clientId, a] of this.awareness) if (a.remoteAt !== undefined && a.remoteAt < cutoff) this.awareness.delete(clientId)
    return [...this.awareness].map(([clientId, a]) => ({ clientId, clock: a.clock, stateJson: a.stateJson }))
  }

  /** The whole document as one update; merges what arrived since the last call. */
  currentState(): Uint8Array {
    if (this.recent.length > 0) {
      this.base = Y.mergeUpdates([this.base, mergeMany(this.recent)])
      this.recent = []
      this.recentBytes = 0
    }
    return this.base
  }

  stateVector(): Uint8Array {
    if (this.stateVectorOf.version !== this.version) {
      this.stateVectorOf = { version: this.version, sv: Y.encodeStateVectorFromUpdate(this.currentState()) }
    }
    return this.stateVectorOf.sv
  }

  /** Joiners with the same state vector at the same version share one computed reply. */
  private replyTo(stateVector: Uint8Array): Uint8Array {
    if (this.repliesVersion !== this.version) {
      this.replies.clear()
      this.repliesVersion = this.version
    }
    const key = Buffer.from(stateVector.buffer, stateVector.byteOffset, stateVector.byteLength).toString('latin1')
    let reply = this.replies.get(key)
    if (!reply) {
      const state = this.currentState()
      let diff: Uint8Array
      try {
        diff = stateVector.byteLength === EMPTY_STATE_VECTOR_LENGTH && stateVector[0] === 0 ? state : Y.diffUpdate(state, stateVector)
      } catch (err) {
        throw new YrelayError(ErrorCode.BAD_MESSAGE, 'malformed state vector', { cause: err })
      }
      reply = encodeSyncStep2(diff)
      if (this.replies.size >= REPLY_CACHE_SIZE) this.replies.delete(this.replies.keys().next().value!)
      this.replies.set(key, reply)
    }
    return reply
  }

  private hasUnsaved(): boolean {
    for (const peer of this.peers) if (peer.ext && peer.receivedUpdates > peer.savedUpdates) return true
    return false
  }

  private scheduleFlush(): void {
    if (this.writing) return
    if (this.pendingBytes >= this.options.flushBytes && this.retryMs === 0) {
      this.startWrite()
    } else if (!this.timer) {
      // Up to 20 % later than flushMs, so rooms whose writes finished together do not all
      // flush in the same tick again (a latency spike for every room on the event loop).
      const delay = this.retryMs || this.options.flushMs * (1 + Math.random() * FLUSH_JITTER)
      this.timer = setTimeout(() => this.startWrite(), delay)
    }
  }

  private startWrite(): void {
    if (this.timer) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
    if (this.writing || this.state !== 'ready') return
    this.writing = this.writeBatch().finally(() => {
      this.writing = null
      this.afterWrite()
    })
  }

  private async writeBatch(): Promise<void> {
    const batch = this.pending
    const bytes = this.pendingBytes
    const local = this.localPending
    this.pending = []
    this.pendingBytes = 0
    this.localPending = 0
    const acks: [Peer, number][] = []
    for (const peer of this.peers) if (peer.ext && peer.receivedUpdates > peer.savedUpdates) acks.push([peer, peer.receivedUpdates])
    if (batch.length > 0) {
      const merged = mergeMany(batch)
      const timer = this.metrics.flushSeconds.startTimer()
      let key: string
      try {
        key = await this.docs.appendLog(this.ref, merged)
        timer()
      } catch (err) {
        this.metrics.flushFailures.inc()
        if (this.state !== 'ready') return
        this.pending = batch.concat(this.pending)
        this.pendingBytes += bytes
        this.localPending += local
        this.lastWriteError = err
        return
      }
      this.localWritten += local
      this.link?.persisted(this.localWritten, key)
      this.logsSinceCompaction++
      this.logBytesSinceCompaction += merged.byteLength
      this.options.backlog.written(bytes)
      this.services.observer?.settled(this, bytes, merged.byteLength)
    }
    this.lastWriteError = null
    this.options.backlog.writeSucceeded(this)
    for (const [peer, count] of acks) {
      if (count <= peer.savedUpdates) continue
      peer.savedUpdates = count
      peer.send(encodeSaved(count))
    }
  }

  private afterWrite(): void {
    if (this.state !== 'ready') return
    if (this.lastWriteError) {
      this.options.backlog.writeFailed(this)
      this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs ? this.retryMs * 2 : FIRST_RETRY_MS)
      this.logger.warn({ doc: this.name, err: this.lastWriteError, pending: this.pending.length, retryMs: this.retryMs }, 'flush failed; will retry')
      this.timer = setTimeout(() => this.startWrite(), this.retryMs)
      return
    }
    this.retryMs = 0
    this.maybeCompact()
    if (this.pending.length > 0 || this.hasUnsaved()) this.scheduleFlush()
    else this.checkIdle()
  }

  /** Idle rooms unload; a compaction still running keeps its room, so a delete waits for its snapshot. */
  private checkIdle(): void {
    if (this.peers.size === 0 && this.holds === 0 && this.pending.length === 0 && !this.writing && !this.timer && !this.compacting && this.state === 'ready') {
      this.onIdle(this)
    }
  }

  private maybeCompact(): void {
    if (this.compacting) return
    if (this.logsSinceCompaction < this.options.compactLogCount && this.logBytesSinceCompaction < this.options.compactLogBytes) return
    const countAtStart = this.logsSinceCompaction
    const bytesAtStart = this.logBytesSinceCompaction
    this.compacting = this.docs
      .compact(this.ref)
      .then((result) => {
        this.metrics.compactions.inc({ outcome: result ? 'done' : 'noop' })
        this.logsSinceCompaction -= countAtStart
        this.logBytesSinceCompaction -= bytesAtStart
        if (result) this.services.observer?.compacted(this, result)
      })
      .catch((err: unknown) => {
        this.metrics.compactions.inc({ outcome: 'failed' })
        this.logger.warn({ doc: this.name, err }, 'compaction failed; will try after a later flush')
      })
      .finally(() => {
        this.compacting = null
        this.checkIdle()
      })
  }

  /**
   * Writes everything pending now, retrying a failed write immediately instead of after the
   * backoff; rejects with the storage error if the write fails. For draining and tests.
   */
  async flushNow(): Promise<void> {
    while (this.writing || this.pending.length > 0 || this.hasUnsaved()) {
      if (!this.writing) this.startWrite()
      const writing = this.writing
      if (!writing) break
      await writing
      if (this.lastWriteError) throw this.lastWriteError
    }
  }

  /** Background work still running (compaction), awaited before the store closes. */
  async settle(): Promise<void> {
    await this.compacting
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    this.options.backlog.writeSucceeded(this)
    this.state = 'closed'
    this.link?.close()
  }
}
