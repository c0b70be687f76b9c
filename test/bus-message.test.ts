/** The messages relays exchange over Redis: every kind survives a round trip; garbage is refused. */
import { describe, expect, it } from 'vitest'
import { BusKind, decodeBusMessage, encodeBusMessage, type BusMessage } from '../server/cluster/bus-message.js'

const envelope = { from: 'relay1', epoch: 3, to: '' }
const bytes = Uint8Array.from([1, 2, 3, 250])

describe('bus messages', () => {
  it.each<BusMessage>([
    { ...envelope, kind: BusKind.UPDATE, n: 42, update: bytes },
    { ...envelope, kind: BusKind.AWARENESS, frame: bytes },
    { ...envelope, to: 'relay2', kind: BusKind.STEP1, answerBack: true, stateVector: bytes },
    { ...envelope, to: 'relay2', kind: BusKind.STEP1, answerBack: false, stateVector: new Uint8Array(0) },
    { ...envelope, to: 'relay2', kind: BusKind.STEP2, n: 0, update: bytes },
    { ...envelope, kind: BusKind.SAVED, n: 1_000_000 },
    { ...envelope, kind: BusKind.DELETED, deletedAt: '2026-11-23T13:00:00.000Z', deletedBy: 'u1' },
    { ...envelope, kind: BusKind.DELETED, deletedAt: '2026-11-23T13:00:00.000Z', deletedBy: null },
  ])('round-trips kind $kind', (msg) => {
    expect(decodeBusMessage(encodeBusMessage(msg))).toEqual(msg)
  })

  it('refuses unknown kinds and trailing bytes', () => {
    const saved = encodeBusMessage({ ...envelope, kind: BusKind.SAVED, n: 1 })
    expect(() => decodeBusMessage(Buffer.concat([saved, Buffer.from([0])]))).toThrow(/trailing/)
    const unknown = Uint8Array.from(saved)
    unknown[0] = 99
    expect(() => decodeBusMessage(unknown)).toThrow(/unknown bus message kind 99/)
    expect(() => decodeBusMessage(new Uint8Array(0))).toThrow()
  })
})
