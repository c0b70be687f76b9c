/**
 * Tokens from the app: fetched before the first connection, reused while the relay accepts
 * them, fetched again when it answers 4401 (expired or revoked). Concurrent refreshes share one call.
 */
import { ErrorCode, YrelayError } from '../shared/errors.js'

/** A fixed token, none (a relay without auth), or a function asking the app's backend. */
export type TokenOption = string | null | undefined | (() => string | null | undefined | Promise<string | null | undefined>)

export class TokenSource {
  private current: Promise<string | null> | null = null

  constructor(private readonly option: TokenOption) {}

  get(): Promise<string | null> {
    this.current ??= this.fetch()
    return this.current
  }

  /** A fresh token, unless another caller already replaced `stale` with a newer one. */
  async refresh(stale: string | null): Promise<string | null> {
    if (this.current) {
      const latest = await this.current.catch(() => undefined)
      if (latest !== undefined && latest !== stale) return latest
    }
    this.current = this.fetch()
    return this.current
  }

  private fetch(): Promise<string | null> {
    const promise = (async () => {
      if (typeof this.option !== 'function') return this.option ?? null
      let token: string | null | undefined
      try {
        token = await this.option()
      } catch (err) {
        throw new YrelayError(ErrorCode.TOKEN_UNAVAILABLE, `the token function failed: ${(err as Error)?.message ?? String(err)}`, { cause: err })
      }
      if (token !== null && token !== undefined && typeof token !== 'string') {
        throw new YrelayError(ErrorCode.TOKEN_UNAVAILABLE, `the token function must return a string, got ${typeof token}`)
      }
      return token ?? null
    })()
    // A failed fetch is not cached: the next connection attempt asks again.
    promise.catch(() => {
      if (this.current === promise) this.current = null
    })
    return promise
  }
}
