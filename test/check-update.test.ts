/**
 * The check every incoming update passes before it is forwarded or stored. Refused updates are
 * written by hand in Yjs's update format (v1), since no Y.Doc makes them; accepted ones come
 * from real documents.
 */
import * as encoding from 'lib0/encoding'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { ErrorCode } from '../shared/errors.js'
import { checkUpdate } from '../server/relay/check-update.js'

const CLIENT = 7
const HAS_ORIGIN = 0x80
const CONTENT_STRING = 4
const CONTENT_TYPE = 7
const YMAP_TYPE_REF = 1

type Parent = { key: string } | { client: number; clock: number }
interface StructSpec {
  origin?: { client: number; clock: number }
  parent?: Parent
  content: { string: string } | { map: true }
}

/** One author's structs from `clock` on, and an empty delete set. */
function update(clock: number, structs: StructSpec[]): Uint8Array {
  const enc = encoding.createEncoder()
  encoding.writeVarUint(enc, 1)
  encoding.writeVarUint(enc, structs.length)
  encoding.writeVarUint(enc, CLIENT)
  encoding.writeVarUint(enc, clock)
  for (const s of structs) {
    const ref = 'string' in s.content ? CONTENT_STRING : CONTENT_TYPE
    encoding.writeUint8(enc, ref | (s.origin ? HAS_ORIGIN : 0))
    if (s.origin) {
      encoding.writeVarUint(enc, s.origin.client)
      encoding.writeVarUint(enc, s.origin.clock)
    } else if (s.parent && 'key' in s.parent) {
      encoding.writeVarUint(enc, 1)
      encoding.writeVarString(enc, s.parent.key)
    } else if (s.parent) {
      encoding.writeVarUint(enc, 0)
      encoding.writeVarUint(enc, s.parent.client)
      encoding.writeVarUint(enc, s.parent.clock)
    }
    if ('string' in s.content) encoding.writeVarString(enc, s.content.string)
    else encoding.writeVarUint(enc, YMAP_TYPE_REF)
  }
  encoding.writeVarUint(enc, 0)
  return encoding.toUint8Array(enc)
}

function refusal(u: Uint8Array): { code: unknown; message: string } | null {
  try {
    checkUpdate(u)
    return null
  } catch (err) {
    return { code: (err as { code?: unknown }).code, message: (err as Error).message }
  }
}

describe('checkUpdate', () => {
  it('accepts what real documents send: keystrokes, nested types, a whole state', () => {
    const doc = new Y.Doc()
    const updates: Uint8Array[] = []
    doc.on('update', (u: Uint8Array) => updates.push(u))
    for (let i = 0; i < 20; i++) doc.getText('t').insert(i, 'x')
    const inner = new Y.Map<string>()
    doc.getMap('m').set('inner', inner)
    inner.set('k', 'v')
    doc.getText('t').delete(3, 4)
    for (const u of updates) expect(refusal(u)).toBeNull()
    expect(refusal(Y.encodeStateAsUpdate(doc))).toBeNull()
  })

  it('accepts a hand-written keystroke that continues its own earlier text', () => {
    expect(refusal(update(0, [{ parent: { key: 't' }, content: { string: 'ab' } }]))).toBeNull()
    expect(refusal(update(2, [{ origin: { client: CLIENT, clock: 1 }, content: { string: 'c' } }]))).toBeNull()
  })

  it('refuses a lone item whose left origin is not earlier than itself', () => {
    const r = refusal(update(3, [{ origin: { client: CLIENT, clock: 3 }, content: { string: 'x' } }]))
    expect(r).toEqual({ code: ErrorCode.BAD_MESSAGE, message: `malformed Yjs update: left origin of ${CLIENT}:3 is not earlier than the item` })
  })

  it('refuses a lone item whose parent is a later operation of its author', () => {
    const r = refusal(update(5, [{ parent: { client: CLIENT, clock: 9 }, content: { string: 'x' } }]))
    expect(r).toEqual({ code: ErrorCode.BAD_MESSAGE, message: `malformed Yjs update: parent of ${CLIENT}:5 is not earlier than the item` })
  })

  it('refuses an item whose parent, in the same update, is text rather than a shared type', () => {
    const r = refusal(
      update(0, [
        { parent: { key: 't' }, content: { string: 'ab' } },
        { parent: { client: CLIENT, clock: 0 }, content: { string: 'x' } },
      ]),
    )
    expect(r).toEqual({ code: ErrorCode.BAD_MESSAGE, message: `malformed Yjs update: parent of ${CLIENT}:2 is not a shared type` })
  })

  it('accepts an item whose parent, in the same update, is a shared type', () => {
    const r = refusal(
      update(0, [
        { parent: { key: 'm' }, content: { map: true } },
        { parent: { client: CLIENT, clock: 0 }, content: { string: 'x' } },
      ]),
    )
    expect(r).toBeNull()
  })

  it('refuses bytes that do not decode', () => {
    expect(refusal(new Uint8Array([1, 1, 7, 0, 4]))).toMatchObject({ code: ErrorCode.BAD_MESSAGE, message: expect.stringMatching(/does not decode|cannot be applied/) })
  })
})
