/**
 * Sequence numbers for snapshot and log objects: they sort lexicographically in time order
 * and are unique across relay instances (time, then a counter, then the instance id).
 *   0001732345678901-0000-relay1
 */
import { randomBytes } from 'node:crypto'

const TIME_WIDTH = 16
const COUNTER_WIDTH = 4
const COUNTER_LIMIT = 36 ** COUNTER_WIDTH

export function randomInstanceId(): string {
  return randomBytes(5).toString('hex')
}

export class SeqGenerator {
  private lastMs = 0
  private counter = 0

  constructor(
    readonly instanceId: string,
    private readonly now: () => number = Date.now,
  ) {}

  next(): string {
    const now = this.now()
    if (now > this.lastMs) {
      this.lastMs = now
      this.counter = 0
    } else if (++this.counter >= COUNTER_LIMIT) {
      // More than 1.6 million ids in one millisecond, or a clock that went back: borrow the next ms.
      this.lastMs++
      this.counter = 0
    }
    return `${String(this.lastMs).padStart(TIME_WIDTH, '0')}-${this.counter.toString(36).padStart(COUNTER_WIDTH, '0')}-${this.instanceId}`
  }
}

/** Reads a sequence number back: when it was written and by which relay instance. */
export function parseSeq(seq: string): { at: Date; counter: number; instanceId: string } | null {
  const m = /^(\d{16})-([0-9a-z]{4})-([a-z0-9]+)$/.exec(seq)
  if (!m) return null
  return { at: new Date(Number(m[1])), counter: parseInt(m[2]!, 36), instanceId: m[3]! }
}

/** The sequence number inside an object key ("…/~log/<seq>.bin"). */
export function seqOfKey(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1).replace(/\.bin$/, '')
}
