/**
 * Tracks every sent update until each other client of its room has received it: latencies for
 * the fan-out scenarios, completion for the others, and losses or duplicates as relay bugs.
 */
import type { BenchClient } from './bench-client.js'
import { until } from './timing.js'

export class Deliveries {
  readonly latencies: number[] = []
  /** Latencies of sends made before `measureFrom`, kept apart from the measured ones. */
  readonly warmupLatencies: number[] = []
  /** Sends before this time (performance.now()) are warm-up: the first seconds of a server run
   * cold code, so they would measure JIT compilation rather than steady fan-out. */
  measureFrom = 0
  /** Deliveries of updates that were not expected (duplicates, or never sent by a client here). */
  unexpected = 0
  private readonly pending = new Map<string, { sentAt: number; remaining: number }>()
  private missing = 0

  constructor(private readonly recordLatency = true) {}

  listen(client: BenchClient): void {
    client.onRemoteUpdate = (key) => this.received(key)
  }

  /** Records a send made at `sentAt` that `receivers` other clients should get. */
  sent(key: string, receivers: number, sentAt: number): void {
    if (receivers === 0) return
    this.pending.set(key, { sentAt, remaining: receivers })
    this.missing += receivers
  }

  private received(key: string): void {
    const entry = this.pending.get(key)
    if (!entry) {
      this.unexpected++
      return
    }
    if (this.recordLatency) (entry.sentAt >= this.measureFrom ? this.latencies : this.warmupLatencies).push(performance.now() - entry.sentAt)
    this.missing--
    if (--entry.remaining === 0) this.pending.delete(key)
  }

  /** Deliveries still outstanding. */
  get outstanding(): number {
    return this.missing
  }

  /** Waits until nothing is outstanding; returns false if that did not happen within `ms`. */
  async drained(ms: number): Promise<boolean> {
    return until(() => this.missing === 0, ms, 'deliveries').then(
      () => true,
      () => false,
    )
  }
}
