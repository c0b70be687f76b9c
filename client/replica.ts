/**
 * The local replica: every document the client opens is stored on the device first, so it
 * renders and edits without a network, and the relay can heal from it. Browsers use IndexedDB
 * (y-indexeddb); Node keeps replicas in memory unless the app injects its own store.
 */
import { IndexeddbPersistence } from 'y-indexeddb'
import * as Y from 'yjs'

export interface LocalReplica {
  /** Resolves once the stored state has been applied to the document. */
  readonly whenLoaded: Promise<void>
  /** Deletes the stored state; later changes are not stored. */
  clear(): Promise<void>
  /** Stops storing; what is stored stays for the next open. */
  destroy(): Promise<void>
}

/** Creates the replica of document `name` for `doc`. Apps may inject their own (a file, SQLite...). */
export type ReplicaFactory = (name: string, doc: Y.Doc) => LocalReplica

export function indexeddbReplicas(prefix = 'yrelay:'): ReplicaFactory {
  return (name, doc) => {
    const persistence = new IndexeddbPersistence(prefix + name, doc)
    return {
      whenLoaded: persistence.whenSynced.then(() => undefined),
      clear: () => persistence.clearData(),
      destroy: () => persistence.destroy(),
    }
  }
}

/**
 * Replicas held in this process's memory: they survive closing and reopening a document (and a
 * dropped relay), not a restart. The default in Node.
 */
export class MemoryReplicas {
  private readonly states = new Map<string, Uint8Array>()

  /** The stored state of `name` as one update, or undefined when nothing is stored. */
  stored(name: string): Uint8Array | undefined {
    return this.states.get(name)
  }

  readonly factory: ReplicaFactory = (name, doc) => {
    const origin = { replica: name }
    const stored = this.states.get(name)
    if (stored) Y.applyUpdate(doc, stored, origin)
    let active = true
    const onUpdate = (update: Uint8Array, from: unknown) => {
      if (!active || from === origin) return
      const previous = this.states.get(name)
      this.states.set(name, previous ? Y.mergeUpdates([previous, update]) : update)
    }
    doc.on('update', onUpdate)
    const stop = () => {
      active = false
      doc.off('update', onUpdate)
    }
    return {
      whenLoaded: Promise.resolve(),
      clear: async () => {
        stop()
        this.states.delete(name)
      },
      destroy: async () => stop(),
    }
  }
}
