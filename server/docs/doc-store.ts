/**
 * Documents on an object store: load, append a flushed batch, compact. No locks: every
 * operation is safe with other relays loading, writing and compacting the same document.
 */
import * as Y from 'yjs'
import type { Logger } from '../logger.js'
import { listAll, type ObjectStore } from '../store/object-store.js'
import { mergeMany } from './merge.js'
import { LOG_DIR, SNAP_DIR, docPrefix, logKey, logPrefix, refName, relativeKey, snapKey, snapPrefix, type DocRef } from './layout.js'
import { SeqGenerator } from './seq.js'
import { decodeSnapshot, encodeSnapshot } from './snapshot-format.js'
import { WriteQueue } from './write-queue.js'

export interface DocStoreOptions {
  instanceId: string
  /** Snapshots kept per document, the newest included. */
  snapshotRetention: number
  logger?: Logger
  /** Clock for sequence numbers (tests skew it to mimic relays whose clocks disagree). */
  now?: () => number
  /** Most log writes in flight at once (see write-queue.ts); default 16. */
  maxParallelWrites?: number
  /** How long a log write may wait before more run in parallel; default 250 ms. */
  writePatienceMs?: number
}

export interface LoadedDoc {
  /** Everything stored, merged into one update. */
  update: Uint8Array
  /** Relative keys of every object this state contains. */
  contains: string[]
  /** Bytes of the stored objects, by relative key. */
  sizes: Map<string, number>
  /** Log objects present that the newest snapshot does not contain, and their bytes. */
  logCount: number
  logBytes: number
  /** Snapshots read: more than one when concurrent compactions left snapshots side by side. */
  snapshotsRead: number
}

export interface CompactionResult {
  snapshotKey: string
  deleted: number
  deletedBytes: number
  snapshotBytes: number
}

const MAX_LOAD_ATTEMPTS = 8
const EMPTY_UPDATE: Uint8Array = new Uint8Array([0, 0])

/** An object vanished between listing and reading it: a compactor replaced it. Load again. */
class VanishedError extends Error {}

export class DocStore {
  readonly seq: SeqGenerator
  private readonly retention: number
  private readonly logger?: Logger
  readonly writes: WriteQueue

  constructor(
    readonly store: ObjectStore,
    options: DocStoreOptions,
  ) {
    this.seq = new SeqGenerator(options.instanceId, options.now)
    this.retention = Math.max(1, options.snapshotRetention)
    this.logger = options.logger
    this.writes = new WriteQueue({ maxParallel: options.maxParallelWrites ?? 16, patienceMs: options.writePatienceMs ?? 250 })
  }

  async load(ref: DocRef): Promise<LoadedDoc> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.loadOnce(ref)
      } catch (err) {
        if (!(err instanceof VanishedError) || attempt >= MAX_LOAD_ATTEMPTS) throw err
        this.logger?.debug({ doc: refName(ref), attempt }, 'object vanished during load; listing again')
      }
    }
  }

  private async loadOnce(ref: DocRef): Promise<LoadedDoc> {
    const [snaps, logs] = await Promise.all([this.listRelative(ref, snapPrefix(ref)), this.listRelative(ref, logPrefix(ref))])
    const updates: Uint8Array[] = []
    const contained = new Set<string>()
    const newest = snaps.at(-1)
    if (newest) {
      const snap = decodeSnapshot(await this.getRelative(ref, newest.key))
      snap.contains.forEach((k) => contained.add(k))
      updates.push(snap.update)
      const others = await Promise.all(
        snaps.slice(0, -1).filter((s) => !contained.has(s.key)).map(async (s) => decodeSnapshot(await this.getRelative(ref, s.key))),
      )
      for (const other of others) {
        other.contains.forEach((k) => contained.add(k))
        updates.push(other.update)
      }
    }
    const toRead = logs.filter((l) => !contained.has(l.key))
    updates.push(...(await Promise.all(toRead.map((l) => this.getRelative(ref, l.key)))))
    return {
      update: updates.length === 0 ? EMPTY_UPDATE : mergeMany(updates),
      contains: [...snaps, ...logs].map((o) => o.key),
      sizes: new Map([...snaps, ...logs].map((o) => [o.key, o.size])),
      logCount: toRead.length,
      logBytes: toRead.reduce((n, l) => n + l.size, 0),
      snapshotsRead: updates.length - toRead.length,
    }
  }

  private async listRelative(ref: DocRef, prefix: string): Promise<{ key: string; size: number }[]> {
    const out: { key: string; size: number }[] = []
    for await (const o of listAll(this.store, prefix)) {
      if (o.key.endsWith('.bin')) out.push({ key: relativeKey(ref, o.key), size: o.size })
    }
    return out
  }

  private async getRelative(ref: DocRef, relKey: string): Promise<Uint8Array> {
    const bytes = await this.store.get(docPrefix(ref) + relKey)
    if (!bytes) throw new VanishedError(relKey)
    return bytes
  }

  /** Writes one flushed batch as a log object; resolves once it is durable. */
  async appendLog(ref: DocRef, update: Uint8Array): Promise<string> {
    const key = logKey(ref, this.seq.next())
    await this.writes.run(() => this.store.put(key, update))
    return key
  }

  /**
   * Writes a snapshot of everything stored, then deletes exactly the objects it contains
   * (logs, and snapshots beyond the retention count). Returns null when there is nothing to do.
   */
  async compact(ref: DocRef): Promise<CompactionResult | null> {
    const loaded = await this.load(ref)
    const logs = loaded.contains.filter((k) => k.startsWith(LOG_DIR))
    const snaps = loaded.contains.filter((k) => k.startsWith(SNAP_DIR))
    if (loaded.logCount === 0 && loaded.snapshotsRead <= 1 && logs.length === 0) return null
    // A Y.Doc garbage-collects deleted content that merged updates still carry.
    const doc = new Y.Doc()
    Y.applyUpdate(doc, loaded.update)
    const state = Y.encodeStateAsUpdate(doc)
    doc.destroy()
    const key = snapKey(ref, this.seq.next())
    const body = encodeSnapshot({ contains: loaded.contains, update: state })
    await this.store.put(key, body)
    const keep = new Set(snaps.slice(Math.max(0, snaps.length - (this.retention - 1))))
    const doomedRelative = [...logs, ...snaps.filter((k) => !keep.has(k))]
    const doomed = doomedRelative.map((k) => docPrefix(ref) + k)
    await this.store.delete(doomed)
    const deletedBytes = doomedRelative.reduce((n, k) => n + (loaded.sizes.get(k) ?? 0), 0)
    this.logger?.info({ doc: refName(ref), snapshot: key, deleted: doomed.length, bytes: body.byteLength }, 'compacted')
    return { snapshotKey: key, deleted: doomed.length, deletedBytes, snapshotBytes: body.byteLength }
  }
}
