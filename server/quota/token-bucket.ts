/** A token bucket holding one second's worth of its rate: bursts up to the rate, then the rate. */
export class TokenBucket {
  private tokens: number
  private at: number

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = perSecond
    this.at = now()
  }

  /** Takes `n` tokens if there are enough; false leaves the bucket as it was. */
  take(n: number): boolean {
    const now = this.now()
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.at) / 1000) * this.perSecond)
    this.at = now
    if (this.tokens < n) return false
    this.tokens -= n
    return true
  }
}
