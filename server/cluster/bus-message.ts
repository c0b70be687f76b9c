/**
 * Messages relays exchange on a room's Redis channel, one per PUBLISH:
 *   varuint kind, varString sender instance, varuint sender room epoch, varString target
 *   instance ("" for every relay), then by kind:
 *     0 update     varuint n (the sender's n-th local update in this room), varUint8Array update
 *     1 awareness  varUint8Array awareness frame (as clients send it)
 *     2 step1      varuint answerBack (1: reply with your own step1 too), varUint8Array state vector
 *     3 step2      varuint n (0, or the sender's local updates so far when some are not yet
 *                  durable: the update includes them), varUint8Array update (what the target lacks)
 *     4 saved      varuint n (the sender's first n local updates are durable)
 *     5 deleted    varString deletedAt, varString deletedBy ("" for none): the document was
 *                  deleted through the sender; every relay closes its clients with 4404
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'

export const BusKind = { UPDATE: 0, AWARENESS: 1, STEP1: 2, STEP2: 3, SAVED: 4, DELETED: 5 } as const

interface Envelope {
  from: string
  epoch: number
  /** Instance id the message is for; "" for everyone. */
  to: string
}

export type BusMessage = Envelope &
  (
    | { kind: typeof BusKind.UPDATE; n: number; update: Uint8Array }
    | { kind: typeof BusKind.AWARENESS; frame: Uint8Array }
    | { kind: typeof BusKind.STEP1; answerBack: boolean; stateVector: Uint8Array }
    | { kind: typeof BusKind.STEP2; n: number; update: Uint8Array }
    | { kind: typeof BusKind.SAVED; n: number }
    | { kind: typeof BusKind.DELETED; deletedAt: string; deletedBy: string | null }
  )

/** A message without its envelope, as a room link composes it. */
export type BusBody = BusMessage extends infer M ? (M extends BusMessage ? Omit<M, keyof Envelope> : never) : never

export function encodeBusMessage(msg: BusMessage): Buffer {
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, msg.kind)
  encoding.writeVarString(e, msg.from)
  encoding.writeVarUint(e, msg.epoch)
  encoding.writeVarString(e, msg.to)
  switch (msg.kind) {
    case BusKind.UPDATE:
      encoding.writeVarUint(e, msg.n)
      encoding.writeVarUint8Array(e, msg.update)
      break
    case BusKind.AWARENESS:
      encoding.writeVarUint8Array(e, msg.frame)
      break
    case BusKind.STEP1:
      encoding.writeVarUint(e, msg.answerBack ? 1 : 0)
      encoding.writeVarUint8Array(e, msg.stateVector)
      break
    case BusKind.STEP2:
      encoding.writeVarUint(e, msg.n)
      encoding.writeVarUint8Array(e, msg.update)
      break
    case BusKind.SAVED:
      encoding.writeVarUint(e, msg.n)
      break
    case BusKind.DELETED:
      encoding.writeVarString(e, msg.deletedAt)
      encoding.writeVarString(e, msg.deletedBy ?? '')
      break
  }
  const bytes = encoding.toUint8Array(e)
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** Throws on a malformed message (another program on the channel, or a newer relay version). */
export function decodeBusMessage(bytes: Uint8Array): BusMessage {
  const d = decoding.createDecoder(bytes)
  const kind = decoding.readVarUint(d)
  const envelope: Envelope = { from: decoding.readVarString(d), epoch: decoding.readVarUint(d), to: decoding.readVarString(d) }
  let msg: BusMessage
  switch (kind) {
    case BusKind.UPDATE:
      msg = { ...envelope, kind, n: decoding.readVarUint(d), update: decoding.readVarUint8Array(d) }
      break
    case BusKind.AWARENESS:
      msg = { ...envelope, kind, frame: decoding.readVarUint8Array(d) }
      break
    case BusKind.STEP1:
      msg = { ...envelope, kind, answerBack: decoding.readVarUint(d) === 1, stateVector: decoding.readVarUint8Array(d) }
      break
    case BusKind.STEP2:
      msg = { ...envelope, kind, n: decoding.readVarUint(d), update: decoding.readVarUint8Array(d) }
      break
    case BusKind.SAVED:
      msg = { ...envelope, kind, n: decoding.readVarUint(d) }
      break
    case BusKind.DELETED: {
      const deletedAt = decoding.readVarString(d)
      const deletedBy = decoding.readVarString(d)
      msg = { ...envelope, kind, deletedAt, deletedBy: deletedBy === '' ? null : deletedBy }
      break
    }
    default:
      throw new Error(`unknown bus message kind ${kind}`)
  }
  if (decoding.hasContent(d)) throw new Error('trailing bytes after bus message')
  return msg
}
