/**
 * Identifies an update by the id (client, clock) of its first struct, read from the update's
 * header without decoding the rest. Every update the load generator sends inserts one new
 * item, so this id is unique per send and survives relays that re-encode updates.
 */
import * as decoding from 'lib0/decoding'
import * as Y from 'yjs'

/** A `client:clock` string, or null for an update without structs (deletions only, or empty). */
export function firstStructKey(update: Uint8Array): string | null {
  const dec = decoding.createDecoder(update)
  const clients = decoding.readVarUint(dec)
  if (clients === 0) return null
  decoding.readVarUint(dec) // number of structs of the first client
  const client = decoding.readVarUint(dec)
  const clock = decoding.readVarUint(dec)
  return `${client}:${clock}`
}

/** The key the next update made on `doc` will have. */
export function nextStructKey(doc: Y.Doc): string {
  return `${doc.clientID}:${Y.getState(doc.store, doc.clientID)}`
}

export function clientOfKey(key: string): number {
  return Number(key.slice(0, key.indexOf(':')))
}
