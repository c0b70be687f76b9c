/**
 * What the relay has accepted but not yet written, across all its rooms: the bytes it holds
 * only in memory, bounded by MAX_PENDING_BYTES, and the rooms whose writes are failing. While
 * storage is down the bytes grow; past the bound the relay refuses new writes (the clients
 * keep them and retry) rather than dropping ones it has accepted.
 */
export class WriteBacklog {
  private pending = 0
  private readonly failing = new Set<object>()

  constructor(readonly limit: number) {}

  get bytes(): number {
    return this.pending
  }

  get full(): boolean {
    return this.pending >= this.limit
  }

  /** Documents whose last write failed and is being retried. */
  get failingRooms(): number {
    return this.failing.size
  }

  accepted(bytes: number): void {
    this.pending += bytes
  }

  written(bytes: number): void {
    this.pending -= bytes
  }

  writeFailed(room: object): void {
    this.failing.add(room)
  }

  writeSucceeded(room: object): void {
    this.failing.delete(room)
  }
}
