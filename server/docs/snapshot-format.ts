/**
 * A snapshot object is a small header followed by the document's full state:
 *
 *   "YRS1"  varuint n  n × varString (keys relative to the document prefix)  Yjs update (v1)
 *
 * The header lists every snapshot and log object the snapshot contains. Two relays may
 * compact one document at once without a lock; each snapshot then names exactly what it
 * holds, so a loader reads the newest snapshot, every other snapshot it does not contain,
 * and every log it does not contain — and never misses a log another compactor deleted.
 * Strip the header (`decodeSnapshot(bytes).update`) to get a plain Yjs update.
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'

const MAGIC = [0x59, 0x52, 0x53, 0x31] // "YRS1"

export interface Snapshot {
  contains: string[]
  update: Uint8Array
}

export function encodeSnapshot(snapshot: Snapshot): Uint8Array {
  const enc = encoding.createEncoder()
  for (const b of MAGIC) encoding.writeUint8(enc, b)
  encoding.writeVarUint(enc, snapshot.contains.length)
  for (const key of snapshot.contains) encoding.writeVarString(enc, key)
  encoding.writeUint8Array(enc, snapshot.update)
  return encoding.toUint8Array(enc)
}

export function decodeSnapshot(bytes: Uint8Array): Snapshot {
  if (bytes.length < MAGIC.length || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new Error('not a yrelay snapshot (bad magic)')
  }
  const dec = decoding.createDecoder(bytes)
  decoding.skip8(dec)
  decoding.skip8(dec)
  decoding.skip8(dec)
  decoding.skip8(dec)
  const n = decoding.readVarUint(dec)
  const contains: string[] = []
  for (let i = 0; i < n; i++) contains.push(decoding.readVarString(dec))
  return { contains, update: bytes.subarray(dec.pos) }
}
