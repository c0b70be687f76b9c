/**
 * The limits each scope was last held to, for the admin dashboard: the configuration,
 * overridden by the newest token claims a caller brought for that scope (so a backend's plan
 * shows as soon as one of the scope's users connects). Every check goes through `for`, so what
 * the dashboard shows is what was enforced.
 */
import type { Principal } from '../auth/access.js'
import { limitsFor, type LimitsConfig, type ScopeLimitSet } from './limits.js'

const MAX_SCOPES = 10_000

export class LimitsBook {
  private readonly last = new Map<string, ScopeLimitSet>()

  constructor(private readonly config: LimitsConfig) {}

  /** The limits that apply to this caller in this scope. */
  for(principal: Principal, scope: string): ScopeLimitSet {
    const limits = limitsFor(this.config, principal, scope)
    this.last.delete(scope)
    this.last.set(scope, limits)
    if (this.last.size > MAX_SCOPES) this.last.delete(this.last.keys().next().value!)
    return limits
  }

  /** The limits last applied in the scope, or the configuration's when nobody came yet. */
  of(scope: string): ScopeLimitSet {
    return this.last.get(scope) ?? limitsFor(this.config, { limits: new Map() }, scope)
  }
}
