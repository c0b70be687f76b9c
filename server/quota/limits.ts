/**
 * The limits that apply to one scope for one caller: the relay's configuration, overridden
 * limit by limit by the token's `limits` claim for that scope (how an app backend encodes a
 * plan). Each limit remembers where it came from, so a refusal can say how to raise it.
 */
import type { Principal, ScopeLimits } from '../auth/access.js'
import type { Config } from '../config.js'

export type LimitsConfig = Pick<
  Config,
  | 'LIMIT_SCOPE_BYTES'
  | 'LIMIT_SCOPE_DOCUMENTS'
  | 'LIMIT_PREFIX_DOCUMENTS'
  | 'LIMIT_DOCUMENT_BYTES'
  | 'LIMIT_BLOB_BYTES'
  | 'LIMIT_UPDATES_PER_SECOND'
  | 'LIMIT_UPDATE_BYTES_PER_SECOND'
>

export interface Limit {
  value: number
  /** How to raise it: the claim or the configuration variable that set it. */
  source: string
}

export interface ScopeLimitSet {
  scope: string
  storedBytes?: Limit
  documents?: Limit
  prefixDocuments: Map<string, Limit>
  documentBytes?: Limit
  blobBytes: Limit
  messageBytes?: Limit
  updatesPerSecond?: Limit
  updateBytesPerSecond?: Limit
}

function pick(claim: number | undefined, claimName: string, config: number | undefined, configName: string): Limit | undefined {
  if (claim !== undefined) return { value: claim, source: `the token's limits claim (${claimName})` }
  if (config !== undefined) return { value: config, source: `the relay's ${configName}` }
  return undefined
}

/** Rate limits of 0 mean "off" in the configuration. */
function rate(claim: number | undefined, claimName: string, config: number, configName: string): Limit | undefined {
  const limit = pick(claim, claimName, config === 0 ? undefined : config, configName)
  return limit && limit.value > 0 ? limit : undefined
}

export function limitsFor(config: LimitsConfig, principal: Pick<Principal, 'limits'>, scope: string): ScopeLimitSet {
  const claims: ScopeLimits = principal.limits.get(scope) ?? {}
  const at = (name: string) => `limits["${scope}"].${name}`
  const prefixDocuments = new Map<string, Limit>()
  for (const [prefix, value] of Object.entries(config.LIMIT_PREFIX_DOCUMENTS ?? {})) {
    prefixDocuments.set(prefix, { value, source: "the relay's LIMIT_PREFIX_DOCUMENTS" })
  }
  for (const [prefix, value] of Object.entries(claims.prefixDocuments ?? {})) {
    prefixDocuments.set(prefix, { value, source: `the token's limits claim (${at('prefixDocuments')}["${prefix}"])` })
  }
  return {
    scope,
    storedBytes: pick(claims.storedBytes, at('storedBytes'), config.LIMIT_SCOPE_BYTES, 'LIMIT_SCOPE_BYTES'),
    documents: pick(claims.documents, at('documents'), config.LIMIT_SCOPE_DOCUMENTS, 'LIMIT_SCOPE_DOCUMENTS'),
    prefixDocuments,
    documentBytes: pick(claims.documentBytes, at('documentBytes'), config.LIMIT_DOCUMENT_BYTES, 'LIMIT_DOCUMENT_BYTES'),
    blobBytes: pick(claims.blobBytes, at('blobBytes'), config.LIMIT_BLOB_BYTES, 'LIMIT_BLOB_BYTES')!,
    messageBytes: pick(claims.messageBytes, at('messageBytes'), undefined, ''),
    updatesPerSecond: rate(claims.updatesPerSecond, at('updatesPerSecond'), config.LIMIT_UPDATES_PER_SECOND, 'LIMIT_UPDATES_PER_SECOND'),
    updateBytesPerSecond: rate(claims.updateBytesPerSecond, at('updateBytesPerSecond'), config.LIMIT_UPDATE_BYTES_PER_SECOND, 'LIMIT_UPDATE_BYTES_PER_SECOND'),
  }
}

/** Whether enforcing these limits needs the scope's stored usage (a listing) first. */
export function needsUsage(limits: ScopeLimitSet): boolean {
  return limits.storedBytes !== undefined || limits.documents !== undefined || limits.prefixDocuments.size > 0
}

/** The limits as JSON for /v1/usage: plain numbers, absent when unlimited. */
export function limitsJson(limits: ScopeLimitSet): Record<string, unknown> {
  return {
    storedBytes: limits.storedBytes?.value,
    documents: limits.documents?.value,
    prefixDocuments: Object.fromEntries([...limits.prefixDocuments].map(([p, l]) => [p, l.value])),
    documentBytes: limits.documentBytes?.value,
    blobBytes: limits.blobBytes.value,
    messageBytes: limits.messageBytes?.value,
    updatesPerSecond: limits.updatesPerSecond?.value,
    updateBytesPerSecond: limits.updateBytesPerSecond?.value,
  }
}
