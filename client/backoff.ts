/** Reconnect delays: exponential with jitter, so clients a relay dropped together do not return together. */

export interface BackoffOptions {
  /** Delay before the first retry (ms). */
  initialMs: number
  /** Longest delay (ms). */
  maxMs: number
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 250, maxMs: 10_000 }

/** The delay before retry number `attempt` (0 first): half fixed, half random ("equal jitter"). */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt, 30))
  return ceiling / 2 + random() * (ceiling / 2)
}
