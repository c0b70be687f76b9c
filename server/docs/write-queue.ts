/**
 * How many flush writes run at once. Every write's response costs the relay CPU (the AWS SDK
 * spends about a millisecond per request), and responses that arrive together are handled in
 * one turn of the event loop — with 50 rooms flushing in parallel, that stalled relaying by
 * 100–300 ms at a time (bench fan-out p99 on S3). So writes run one at a time while that keeps
 * up; when the oldest waiting write has waited longer than `patienceMs`, parallelism doubles
 * (up to `maxParallel`), and it steps back down as the queue empties. A room whose write waits
 * merges what arrives meanwhile into it, so waiting costs no extra requests.
 */
export interface WriteQueueOptions {
  maxParallel: number
  patienceMs: number
}

interface Waiting {
  /** Its patience timer fired while it still waited. */
  overdue: boolean
  go: () => void
  timer: NodeJS.Timeout
}

export class WriteQueue {
  private running = 0
  private parallel = 1
  private readonly waiting: Waiting[] = []

  constructor(private readonly options: WriteQueueOptions) {}

  /** Writes allowed to run at once now. */
  get limit(): number {
    return this.parallel
  }

  async run<T>(write: () => Promise<T>): Promise<T> {
    if (this.running < this.parallel) this.running++
    else {
      await new Promise<void>((go) => {
        // Looked at again once its patience runs out, even if no write finishes meanwhile (a
        // storage request that hangs must not hold every other room's writes behind it). The
        // timer itself says the patience is spent: re-checking against a clock that counts in
        // whole milliseconds, or steps, could find it a hair short and never look again.
        const entry: Waiting = {
          overdue: false,
          go,
          timer: setTimeout(() => {
            entry.overdue = true
            this.next()
          }, this.options.patienceMs).unref(),
        }
        this.waiting.push(entry)
      })
    }
    try {
      return await write()
    } finally {
      this.running--
      this.next()
    }
  }

  private next(): void {
    const oldest = this.waiting[0]
    if (oldest?.overdue) this.parallel = Math.min(this.options.maxParallel, this.parallel * 2)
    else if (!oldest && this.parallel > 1) this.parallel--
    // The releaser takes the slot, so a write resuming a moment later cannot be overtaken.
    while (this.running < this.parallel && this.waiting.length > 0) {
      this.running++
      const entry = this.waiting.shift()!
      clearTimeout(entry.timer)
      entry.go()
    }
  }
}
