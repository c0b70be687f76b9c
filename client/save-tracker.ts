/**
 * Counts what is not yet durable on the relay, from the relay's *saved* acknowledgements:
 * pending = update messages sent on this connection − acknowledged, plus local changes no
 * connection has carried yet. Sync step 2 (the handshake's reply) carries everything the relay
 * lacks, so it replaces the count of unsent changes: after a reconnect, pending counts what the
 * handshake re-sent.
 */
export class SaveTracker {
  private sent = 0
  private acked = 0
  private unsent = 0

  get pending(): number {
    return this.sent - this.acked + this.unsent
  }

  /** A local change made while no connection could carry it (offline, connecting, or loaded from the replica). */
  changedOffline(): void {
    this.unsent++
  }

  /** An update message went out; `handshake` for sync step 2. */
  sentUpdate(handshake: boolean): void {
    this.sent++
    if (handshake) this.unsent = 0
  }

  /** The relay says the first `count` update messages of this connection are durable. */
  saved(count: number): void {
    this.acked = Math.min(this.sent, Math.max(this.acked, count))
  }

  /** What the closed connection did not get acknowledged is sent again by the next handshake. */
  connectionClosed(): void {
    this.unsent += this.sent - this.acked
    this.sent = 0
    this.acked = 0
  }
}
