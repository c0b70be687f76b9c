/**
 * Tombstones: a deleted document (or blob) leaves `<scope>tombstones/…/<name>.json` behind, so
 * an offline replica that reconnects later cannot bring it back. Only an explicit restore
 * removes one.
 */
import { z } from 'zod'
import type { ObjectStore } from '../store/object-store.js'
import { blobTombstoneKey, tombstoneKey, type DocRef } from './layout.js'

export const tombstoneSchema = z.object({
  deletedAt: z.string(),
  /** The user who deleted it, or null on a relay without authentication. */
  deletedBy: z.string().nullable(),
  /** What was deleted, for people reading the bucket. */
  name: z.string(),
})
export type Tombstone = z.infer<typeof tombstoneSchema>

async function read(store: ObjectStore, key: string): Promise<Tombstone | null> {
  const bytes = await store.get(key)
  if (!bytes) return null
  const parsed = tombstoneSchema.safeParse(JSON.parse(new TextDecoder().decode(bytes)))
  // Someone wrote something else there; it still marks the name as deleted.
  return parsed.success ? parsed.data : { deletedAt: new Date(0).toISOString(), deletedBy: null, name: key }
}

async function write(store: ObjectStore, key: string, name: string, deletedBy: string | null): Promise<Tombstone> {
  const tombstone: Tombstone = { deletedAt: new Date().toISOString(), deletedBy, name }
  await store.put(key, new TextEncoder().encode(JSON.stringify(tombstone)), { contentType: 'application/json' })
  return tombstone
}

export class Tombstones {
  constructor(private readonly store: ObjectStore) {}

  ofDoc(ref: DocRef): Promise<Tombstone | null> {
    return read(this.store, tombstoneKey(ref))
  }

  markDoc(ref: DocRef, deletedBy: string | null): Promise<Tombstone> {
    return write(this.store, tombstoneKey(ref), ref.scope + ref.path, deletedBy)
  }

  clearDoc(ref: DocRef): Promise<void> {
    return this.store.delete([tombstoneKey(ref)])
  }

  ofBlob(scope: string, sha256: string): Promise<Tombstone | null> {
    return read(this.store, blobTombstoneKey(scope, sha256))
  }

  markBlob(scope: string, sha256: string, deletedBy: string | null): Promise<Tombstone> {
    return write(this.store, blobTombstoneKey(scope, sha256), `${scope}blobs/${sha256}`, deletedBy)
  }

  clearBlob(scope: string, sha256: string): Promise<void> {
    return this.store.delete([blobTombstoneKey(scope, sha256)])
  }
}
