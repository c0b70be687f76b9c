/**
 * The wire protocol, in one place: the standard y-websocket messages the relay speaks, and
 * yrelay's opt-in extension messages (sent only to connections that asked with `?ext=1`).
 *
 * Every frame holds exactly one message: varuint message type, then its body.
 *   0 sync       varuint sync type (0 step 1, 1 step 2, 2 update), varUint8Array payload
 *   1 awareness  varUint8Array awareness update
 *   2 auth       varuint 0 (permission denied), varString reason (ignored when received)
 *   3 query awareness (no body)
 *   100 yrelay extension: varuint kind, then
 *       kind 0 saved: varuint N — the first N update messages (sync step 2 or update) this
 *                     connection sent are durable in storage
 *       kind 1 error: varString code, varString message
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'

export const PROTOCOL_VERSION = 1
export const SYNC_PATH_PREFIX = '/v1/sync/'

export const MessageType = { SYNC: 0, AWARENESS: 1, AUTH: 2, QUERY_AWARENESS: 3, EXT: 100 } as const
export const SyncType = { STEP1: 0, STEP2: 1, UPDATE: 2 } as const
export const ExtKind = { SAVED: 0, ERROR: 1 } as const

/** An empty Yjs update (v1): no structs, empty delete set. */
const EMPTY_UPDATE_LENGTH = 2

export type IncomingMessage =
  | { type: 'sync-step1'; stateVector: Uint8Array }
  | { type: 'sync-update'; syncType: 1 | 2; update: Uint8Array }
  | { type: 'awareness'; update: Uint8Array }
  | { type: 'query-awareness' }
  | { type: 'auth' }

/** Parses one frame. Throws on anything malformed, including trailing bytes. */
export function parseMessage(frame: Uint8Array): IncomingMessage {
  const dec = decoding.createDecoder(frame)
  const type = decoding.readVarUint(dec)
  let msg: IncomingMessage
  switch (type) {
    case MessageType.SYNC: {
      const syncType = decoding.readVarUint(dec)
      const payload = decoding.readVarUint8Array(dec)
      if (syncType === SyncType.STEP1) msg = { type: 'sync-step1', stateVector: payload }
      else if (syncType === SyncType.STEP2 || syncType === SyncType.UPDATE) msg = { type: 'sync-update', syncType, update: payload }
      else throw new Error(`unknown sync message type ${syncType}`)
      break
    }
    case MessageType.AWARENESS:
      msg = { type: 'awareness', update: decoding.readVarUint8Array(dec) }
      break
    case MessageType.QUERY_AWARENESS:
      msg = { type: 'query-awareness' }
      break
    case MessageType.AUTH:
      decoding.readVarUint(dec)
      decoding.readVarString(dec)
      msg = { type: 'auth' }
      break
    default:
      throw new Error(`unknown message type ${type}`)
  }
  if (decoding.hasContent(dec)) throw new Error('trailing bytes after message')
  return msg
}

/** The sync type of a frame the client sends, or null when it is not a sync message. */
export function syncTypeOf(frame: Uint8Array): number | null {
  const dec = decoding.createDecoder(frame)
  if (decoding.readVarUint(dec) !== MessageType.SYNC) return null
  return decoding.readVarUint(dec)
}

export function isEmptyUpdate(update: Uint8Array): boolean {
  return update.length === EMPTY_UPDATE_LENGTH && update[0] === 0 && update[1] === 0
}

function frame(write: (enc: encoding.Encoder) => void): Uint8Array {
  const enc = encoding.createEncoder()
  write(enc)
  return encoding.toUint8Array(enc)
}

export function encodeSyncStep1(stateVector: Uint8Array): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, MessageType.SYNC)
    encoding.writeVarUint(e, SyncType.STEP1)
    encoding.writeVarUint8Array(e, stateVector)
  })
}

export function encodeSyncStep2(update: Uint8Array): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, MessageType.SYNC)
    encoding.writeVarUint(e, SyncType.STEP2)
    encoding.writeVarUint8Array(e, update)
  })
}

export function encodeSyncUpdate(update: Uint8Array): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, MessageType.SYNC)
    encoding.writeVarUint(e, SyncType.UPDATE)
    encoding.writeVarUint8Array(e, update)
  })
}

/**
 * A received sync step 2 frame becomes an update frame for the other peers by changing its
 * second byte: both types are single-byte varuints, so the rest of the frame is reused as is.
 */
export function step2FrameAsUpdate(step2Frame: Uint8Array): Uint8Array {
  const out = Uint8Array.from(step2Frame)
  out[1] = SyncType.UPDATE
  return out
}

export interface AwarenessEntry {
  clientId: number
  clock: number
  /** The state as the JSON text the client sent ("null" when the client went away). */
  stateJson: string
}

/** Parses an awareness update, checking every state is JSON so no peer is sent garbage. */
export function parseAwarenessUpdate(update: Uint8Array): AwarenessEntry[] {
  const dec = decoding.createDecoder(update)
  const count = decoding.readVarUint(dec)
  const entries: AwarenessEntry[] = []
  for (let i = 0; i < count; i++) {
    const clientId = decoding.readVarUint(dec)
    const clock = decoding.readVarUint(dec)
    const stateJson = decoding.readVarString(dec)
    JSON.parse(stateJson)
    entries.push({ clientId, clock, stateJson })
  }
  if (decoding.hasContent(dec)) throw new Error('trailing bytes after awareness update')
  return entries
}

export function encodeAwarenessMessage(entries: Iterable<AwarenessEntry>): Uint8Array {
  const list = [...entries]
  return frame((e) => {
    encoding.writeVarUint(e, MessageType.AWARENESS)
    const inner = encoding.createEncoder()
    encoding.writeVarUint(inner, list.length)
    for (const entry of list) {
      encoding.writeVarUint(inner, entry.clientId)
      encoding.writeVarUint(inner, entry.clock)
      encoding.writeVarString(inner, entry.stateJson)
    }
    encoding.writeVarUint8Array(e, encoding.toUint8Array(inner))
  })
}

export function encodePermissionDenied(reason: string): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, MessageType.AUTH)
    encoding.writeVarUint(e, 0)
    encoding.writeVarString(e, reason)
  })
}

export function encodeSaved(count: number): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, MessageType.EXT)
    encoding.writeVarUint(e, ExtKind.SAVED)
    encoding.writeVarUint(e, count)
  })
}

export function encodeErrorMessage(code: string, message: string): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, MessageType.EXT)
    encoding.writeVarUint(e, ExtKind.ERROR)
    encoding.writeVarString(e, code)
    encoding.writeVarString(e, message)
  })
}

export type ExtensionMessage = { kind: 'saved'; count: number } | { kind: 'error'; code: string; message: string }

/** Decodes an extension frame, or returns null when the frame is a standard message. */
export function parseExtensionMessage(frame: Uint8Array): ExtensionMessage | null {
  const dec = decoding.createDecoder(frame)
  if (decoding.readVarUint(dec) !== MessageType.EXT) return null
  return readExtensionBody(dec)
}

/** Reads an extension message's body from a decoder positioned after its message type. */
export function readExtensionBody(dec: decoding.Decoder): ExtensionMessage {
  const kind = decoding.readVarUint(dec)
  if (kind === ExtKind.SAVED) return { kind: 'saved', count: decoding.readVarUint(dec) }
  if (kind === ExtKind.ERROR) return { kind: 'error', code: decoding.readVarString(dec), message: decoding.readVarString(dec) }
  throw new Error(`unknown extension message kind ${kind}`)
}
