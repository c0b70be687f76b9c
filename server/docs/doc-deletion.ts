/** Removing a document's stored objects (its snapshots and logs, never a child document's). */
import { listAll, type ObjectStore } from '../store/object-store.js'
import { logPrefix, snapPrefix, type DocRef } from './layout.js'

/** Deletes every snapshot and log of the document; resolves with how many objects went. */
export async function deleteDocObjects(store: ObjectStore, ref: DocRef): Promise<number> {
  let deleted = 0
  for (const prefix of [logPrefix(ref), snapPrefix(ref)]) {
    let batch: string[] = []
    for await (const o of listAll(store, prefix)) {
      batch.push(o.key)
      if (batch.length === 1000) {
        await store.delete(batch)
        deleted += batch.length
        batch = []
      }
    }
    if (batch.length > 0) await store.delete(batch)
    deleted += batch.length
  }
  return deleted
}
