/**
 * Hostile frames for the fuzzer, drawn from a seeded generator. Each frame says what a
 * correct relay does with it: `accept` (well-formed, the connection must stay open), `close`
 * (malformed, the connection must close with one of `codes`) or `either` (mutated bytes that
 * may still happen to be well-formed; if the connection closes, it must be with `codes`).
 */
import * as encoding from 'lib0/encoding'
import * as Y from 'yjs'
import { encodeAwarenessMessage, encodeSyncStep1, encodeSyncStep2, encodeSyncUpdate } from '../../shared/protocol.js'
import { bytes, chance, int, pick, type Rng } from './seed.js'

export type Expectation = 'accept' | 'close' | 'either'

export interface FuzzFrame {
  kind: string
  data: Uint8Array | string
  expect: Expectation
  /** Close codes allowed when the connection closes. */
  codes: number[]
}

const BAD = [4400]
const TOO_LARGE = [4413]

/** Valid updates from small documents of their own: "sync step 2 of another document". */
export class UpdatePool {
  readonly updates: Uint8Array[] = []

  constructor(rng: Rng, size: number) {
    // A few client ids are shared between documents: two histories claiming the same ids.
    const sharedIds = [int(rng, 1, 2 ** 31), int(rng, 1, 2 ** 31)]
    for (let i = 0; i < size; i++) {
      const doc = new Y.Doc()
      doc.clientID = chance(rng, 0.2) ? pick(rng, sharedIds) : int(rng, 1, 2 ** 32 - 1)
      const edits = int(rng, 1, 6)
      for (let e = 0; e < edits; e++) randomEdit(rng, doc)
      this.updates.push(Y.encodeStateAsUpdate(doc))
      doc.destroy()
    }
  }
}

/** One random edit on the shared types every test document uses: text t, map m, array a. */
export function randomEdit(rng: Rng, doc: Y.Doc, label = ''): void {
  const text = doc.getText('t')
  const map = doc.getMap('m')
  const array = doc.getArray('a')
  switch (int(rng, 0, 5)) {
    case 0:
      text.insert(int(rng, 0, text.length), `${label}${word(rng)}`)
      break
    case 1:
      if (text.length > 0) text.delete(int(rng, 0, text.length - 1), 1)
      else text.insert(0, label || 'x')
      break
    case 2:
      map.set(word(rng), int(rng, 0, 1000))
      break
    case 3:
      map.set(word(rng), { nested: word(rng), n: int(rng, -5, 5) })
      break
    case 4:
      array.insert(int(rng, 0, array.length), [`${label}${word(rng)}`])
      break
    default:
      if (array.length > 0) array.delete(int(rng, 0, array.length - 1), 1)
      else array.push([label || 'y'])
  }
}

function word(rng: Rng): string {
  let s = ''
  const n = int(rng, 1, 8)
  for (let i = 0; i < n; i++) s += String.fromCharCode(int(rng, 97, 122))
  return s
}

function build(write: (e: encoding.Encoder) => void): Uint8Array {
  const e = encoding.createEncoder()
  write(e)
  return encoding.toUint8Array(e)
}

/** A varuint whose every byte says "more follows", cut off before the end. */
function truncatedVarint(rng: Rng): Uint8Array {
  return Uint8Array.from({ length: int(rng, 1, 10) }, () => 0x80 | int(rng, 0, 0x7f))
}

function mutate(rng: Rng, input: Uint8Array): Uint8Array {
  const out = Array.from(input)
  const edits = int(rng, 1, 4)
  for (let i = 0; i < edits; i++) {
    switch (int(rng, 0, 4)) {
      case 0: // flip bits
        if (out.length > 0) out[int(rng, 0, out.length - 1)]! ^= 1 << int(rng, 0, 7)
        break
      case 1: // random byte
        if (out.length > 0) out[int(rng, 0, out.length - 1)] = int(rng, 0, 255)
        break
      case 2: // truncate
        out.length = int(rng, 0, out.length)
        break
      case 3: // insert bytes
        out.splice(int(rng, 0, out.length), 0, ...bytes(rng, int(rng, 1, 6)))
        break
      default: // a huge varuint somewhere
        out.splice(int(rng, 0, out.length), 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f)
    }
  }
  return Uint8Array.from(out)
}

function awarenessBody(entries: { clientId: number; clock: number; state: string }[]): Uint8Array {
  return build((e) => {
    encoding.writeVarUint(e, entries.length)
    for (const entry of entries) {
      encoding.writeVarUint(e, entry.clientId)
      encoding.writeVarUint(e, entry.clock)
      encoding.writeVarString(e, entry.state)
    }
  })
}

const ABSURD_NUMBERS = [0, 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1]

export class FrameGenerator {
  readonly counts = new Map<string, number>()
  private readonly kinds: [string, number, () => FuzzFrame][]
  private readonly totalWeight: number

  constructor(
    private readonly rng: Rng,
    private readonly pool: UpdatePool,
    private readonly maxMessageBytes: number,
  ) {
    this.kinds = [
      ['random-bytes', 16, () => this.randomBytes()],
      ['truncated-varint', 8, () => this.truncated()],
      ['overflowing-length', 8, () => this.overflowingLength()],
      ['corrupt-update', 18, () => this.corruptUpdate()],
      ['other-doc-step2', 10, () => this.otherDoc()],
      ['awareness-absurd', 14, () => this.absurdAwareness()],
      ['awareness-invalid', 6, () => this.invalidAwareness()],
      ['awareness-huge', 0.05, () => this.hugeAwareness()],
      ['state-vector', 6, () => this.stateVector()],
      ['unknown-type', 5, () => this.unknownType()],
      ['trailing-bytes', 5, () => this.trailingBytes()],
      ['text-frame', 1, () => ({ kind: 'text-frame', data: 'hello', expect: 'close', codes: BAD })],
      ['auth-message', 1, () => ({ kind: 'auth-message', data: build((e) => { encoding.writeVarUint(e, 2); encoding.writeVarUint(e, 0); encoding.writeVarString(e, 'let me in') }), expect: 'accept', codes: [] })],
      ['oversized', 0.02, () => ({ kind: 'oversized', data: encodeSyncUpdate(new Uint8Array(this.maxMessageBytes + 1)), expect: 'close', codes: TOO_LARGE })],
    ]
    this.totalWeight = this.kinds.reduce((n, [, w]) => n + w, 0)
  }

  next(): FuzzFrame {
    let x = (this.rng.next() as number) * this.totalWeight
    for (const [name, weight, make] of this.kinds) {
      x -= weight
      if (x < 0) {
        this.counts.set(name, (this.counts.get(name) ?? 0) + 1)
        return make()
      }
    }
    return this.next()
  }

  private randomBytes(): FuzzFrame {
    return { kind: 'random-bytes', data: bytes(this.rng, int(this.rng, 0, 48)), expect: 'either', codes: BAD }
  }

  private truncated(): FuzzFrame {
    // The varuint is cut off as the message type, the sync type, or a payload length.
    const prefix = pick(this.rng, [[], [0], [0, 0], [0, 1], [0, 2], [1]])
    return { kind: 'truncated-varint', data: Uint8Array.from([...prefix, ...truncatedVarint(this.rng)]), expect: 'close', codes: BAD }
  }

  private overflowingLength(): FuzzFrame {
    const header = pick(this.rng, [[0, 0], [0, 1], [0, 2], [1]])
    const body = bytes(this.rng, int(this.rng, 0, 32))
    const length = pick(this.rng, [body.length + int(this.rng, 1, 1000), 2 ** 31, 2 ** 32 + 5, 2 ** 53 - 1])
    const data = build((e) => {
      for (const b of header) encoding.writeVarUint(e, b)
      encoding.writeVarUint(e, length)
      encoding.writeUint8Array(e, body)
    })
    return { kind: 'overflowing-length', data, expect: 'close', codes: BAD }
  }

  private corruptUpdate(): FuzzFrame {
    const update = mutate(this.rng, pick(this.rng, this.pool.updates))
    const data = chance(this.rng, 0.5) ? encodeSyncStep2(update) : encodeSyncUpdate(update)
    return { kind: 'corrupt-update', data, expect: 'either', codes: BAD }
  }

  private otherDoc(): FuzzFrame {
    const update = pick(this.rng, this.pool.updates)
    return { kind: 'other-doc-step2', data: chance(this.rng, 0.7) ? encodeSyncStep2(update) : encodeSyncUpdate(update), expect: 'accept', codes: [] }
  }

  private absurdAwareness(): FuzzFrame {
    const entries = Array.from({ length: int(this.rng, 1, 4) }, () => ({
      clientId: pick(this.rng, ABSURD_NUMBERS),
      clock: pick(this.rng, ABSURD_NUMBERS),
      state: pick(this.rng, ['null', '{}', '{"user":{"name":"x"}}', '[1,2,3]', '"s"', '12345678901234567890', JSON.stringify({ deep: nested(int(this.rng, 1, 60)) })]),
    }))
    return { kind: 'awareness-absurd', data: encodeAwarenessMessage(entries.map((e) => ({ clientId: e.clientId, clock: e.clock, stateJson: e.state }))), expect: 'accept', codes: [] }
  }

  private invalidAwareness(): FuzzFrame {
    const body = pick(this.rng, [
      () => awarenessBody([{ clientId: 1, clock: 1, state: '{not json' }]),
      () => awarenessBody([{ clientId: 1, clock: 1, state: '' }]),
      // Claims more entries than it holds.
      () => Uint8Array.from([5, ...awarenessBody([{ clientId: 1, clock: 1, state: '{}' }]).slice(1)]),
      () => Uint8Array.from([...awarenessBody([{ clientId: 2, clock: 3, state: '{}' }]), 7]),
      // A string length pointing past the end.
      () => Uint8Array.from([1, 1, 1, 0xff, 0xff, 0x03, 0x7b]),
      () => mutate(this.rng, awarenessBody([{ clientId: 9, clock: 9, state: '{"a":1}' }])),
    ])()
    const data = build((e) => {
      encoding.writeVarUint(e, 1)
      encoding.writeVarUint8Array(e, body)
    })
    // Mutated bytes may happen to stay valid.
    return { kind: 'awareness-invalid', data, expect: 'either', codes: BAD }
  }

  private hugeAwareness(): FuzzFrame {
    const fits = chance(this.rng, 0.5)
    const size = fits ? Math.floor(this.maxMessageBytes / 2) : this.maxMessageBytes + 16
    const state = JSON.stringify({ blob: 'x'.repeat(size) })
    const data = encodeAwarenessMessage([{ clientId: int(this.rng, 1, 2 ** 31), clock: 1, stateJson: state }])
    return { kind: 'awareness-huge', data, expect: fits ? 'accept' : 'close', codes: TOO_LARGE }
  }

  private stateVector(): FuzzFrame {
    if (chance(this.rng, 0.5)) {
      const sv = Y.encodeStateVectorFromUpdate(pick(this.rng, this.pool.updates))
      return { kind: 'state-vector', data: encodeSyncStep1(sv), expect: 'accept', codes: [] }
    }
    return { kind: 'state-vector', data: encodeSyncStep1(bytes(this.rng, int(this.rng, 0, 24))), expect: 'either', codes: BAD }
  }

  private unknownType(): FuzzFrame {
    const data = pick(this.rng, [
      () => build((e) => encoding.writeVarUint(e, pick(this.rng, [4, 5, 99, 100, 101, 255, 2 ** 31, 2 ** 53 - 1]))),
      () => build((e) => { encoding.writeVarUint(e, 0); encoding.writeVarUint(e, int(this.rng, 3, 2 ** 31)); encoding.writeVarUint8Array(e, new Uint8Array([0, 0])) }),
      // The relay's own extension messages are not for clients to send.
      () => build((e) => { encoding.writeVarUint(e, 100); encoding.writeVarUint(e, 0); encoding.writeVarUint(e, 5) }),
    ])()
    return { kind: 'unknown-type', data, expect: 'close', codes: BAD }
  }

  private trailingBytes(): FuzzFrame {
    const valid = pick(this.rng, [
      () => encodeSyncStep1(new Uint8Array([0])),
      () => encodeSyncUpdate(pick(this.rng, this.pool.updates)),
      () => new Uint8Array([3]),
      () => encodeAwarenessMessage([{ clientId: 1, clock: 1, stateJson: '{}' }]),
    ])()
    return { kind: 'trailing-bytes', data: Uint8Array.from([...valid, ...bytes(this.rng, int(this.rng, 1, 8))]), expect: 'close', codes: BAD }
  }
}

function nested(depth: number): unknown {
  let v: unknown = 'leaf'
  for (let i = 0; i < depth; i++) v = { v }
  return v
}
