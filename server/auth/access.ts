/**
 * Who may open what, decided here and nowhere else: the token a request carries becomes a
 * principal, and a principal plus a document name becomes a storage scope and a role — or a
 * refusal with a stable code. The WebSocket endpoint and every HTTP endpoint call this module.
 */
import { createPublicKey, type KeyObject } from 'node:crypto'
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose'
import { z } from 'zod'
import { checkDocName, isValidSegment } from '../../shared/doc-name.js'
import { ErrorCode, YrelayError } from '../../shared/errors.js'
import type { DocRef } from '../docs/layout.js'

export type Role = 'owner' | 'editor' | 'viewer'
export type Tenancy = 'single' | 'multi'

export interface Principal {
  /** The user, or null when the relay runs without authentication. */
  sub: string | null
  teams: Map<string, Role>
  spaces: Map<string, Role>
  /** Role on every document of a single-tenant relay. */
  role: Role
  /** Milliseconds since the epoch; the connection is closed with 4401 then. */
  expiresAt: number | null
  /** Per-scope limits of the user's plan, from the token. */
  limits: Map<string, ScopeLimits>
}

export interface Access {
  ref: DocRef
  role: Role
  canWrite: boolean
}

export interface ScopeAccess {
  scope: string
  role: Role
  canWrite: boolean
}

/** The token a request carries: `?token=` or `Authorization: Bearer`. */
export function tokenOf(params: URLSearchParams, authorization: string | undefined): string | undefined {
  return params.get('token') ?? authorization?.match(/^Bearer (.+)$/i)?.[1]
}

export const MAX_TOKEN_LENGTH = 8192
const SEGMENT_RULE = 'must be 1-128 letters, digits, ".", "_" or "-", not starting with "."'
const segment = z.string().refine(isValidSegment, SEGMENT_RULE)
const role = z.enum(['owner', 'editor', 'viewer'])
/** One team or space membership: `{id, role}`. */
export const membershipEntrySchema = z.object({ id: segment, role })
const membership = z.array(membershipEntrySchema).max(1000)

const count = z.number().int().nonnegative()
/** A plan's limits for one scope, as an app backend encodes them; enforced by the quota rules. */
export const scopeLimitsSchema = z.strictObject({
  storedBytes: count.optional(),
  documents: count.optional(),
  /** Documents under a sub-prefix of the scope: `{"profiles/": 3}`. */
  prefixDocuments: z
    .record(z.string().regex(/^([A-Za-z0-9_-][A-Za-z0-9._-]{0,127}\/){1,7}$/, 'prefixes are path segments ending with "/", e.g. "profiles/"'), count)
    .optional(),
  documentBytes: count.optional(),
  blobBytes: count.optional(),
  messageBytes: count.optional(),
  updatesPerSecond: count.optional(),
  updateBytesPerSecond: count.optional(),
})
export type ScopeLimits = z.infer<typeof scopeLimitsSchema>
/** A scope prefix as tokens name it: "users/<id>/", "teams/<id>/", "spaces/<id>/", or "" (single tenant). */
export function isScopeKey(key: string): boolean {
  if (key === '') return true
  const parts = key.split('/')
  return parts.length === 3 && ['users', 'teams', 'spaces'].includes(parts[0]!) && isValidSegment(parts[1]!) && parts[2] === ''
}

/** The claims yrelay reads (README, "Tokens and claims"); other claims are ignored. */
export const claimsSchema = z.object({
  sub: segment,
  teams: membership.optional(),
  spaces: membership.optional(),
  role: role.optional(),
  limits: z
    .record(z.string().refine(isScopeKey, 'limits are keyed by scope: "users/<id>/", "teams/<id>/", "spaces/<id>/" or "" (single tenant)'), scopeLimitsSchema)
    .optional(),
})

export type AuthKey =
  | { kind: 'secret'; secret: string }
  | { kind: 'public-key'; pem: string }
  | { kind: 'jwks'; url: string }

export interface AccessOptions {
  tenancy: Tenancy
  /** null: no authentication (local development). */
  key: AuthKey | null
  issuer?: string
  audience?: string
  /** The app backend's membership endpoint; its answer replaces the token's teams and spaces. */
  membershipUrl?: string
  membershipCacheMs?: number
}

/** What the membership endpoint answers for `GET <url>?sub=<user>`. */
export const membershipAnswerSchema = z.object({ teams: membership.default([]), spaces: membership.default([]) })

const MEMBERSHIP_TIMEOUT_MS = 3000
const MEMBERSHIP_CACHE_ENTRIES = 10_000

function unauthorized(message: string, cause?: unknown): YrelayError {
  return new YrelayError(ErrorCode.UNAUTHORIZED, message, { cause })
}

function forbidden(message: string): YrelayError {
  return new YrelayError(ErrorCode.FORBIDDEN, message)
}

const OPEN_PRINCIPAL: Principal = { sub: null, teams: new Map(), spaces: new Map(), role: 'owner', expiresAt: null, limits: new Map() }

export class AccessPolicy {
  private readonly verifyKey: Uint8Array | KeyObject | ReturnType<typeof createRemoteJWKSet> | null
  private readonly algorithms: string[]
  private readonly memberships = new Map<string, { at: number; teams: Map<string, Role>; spaces: Map<string, Role> }>()

  constructor(private readonly options: AccessOptions) {
    const key = options.key
    if (!key) {
      this.verifyKey = null
      this.algorithms = []
    } else if (key.kind === 'secret') {
      this.verifyKey = new TextEncoder().encode(key.secret)
      this.algorithms = ['HS256']
    } else if (key.kind === 'public-key') {
      this.verifyKey = createPublicKey(key.pem)
      this.algorithms = ['RS256', 'ES256']
    } else {
      // jose caches the key set and fetches it again when a token names an unknown kid.
      this.verifyKey = createRemoteJWKSet(new URL(key.url), { cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000 })
      this.algorithms = ['RS256', 'ES256']
    }
  }

  get authenticates(): boolean {
    return this.verifyKey !== null
  }

  /** Verifies a token; throws UNAUTHORIZED with a reason a person can act on. */
  async authenticate(token: string | undefined): Promise<Principal> {
    if (!this.verifyKey) return OPEN_PRINCIPAL
    if (!token) throw unauthorized('a token is required: pass ?token=<jwt> or an Authorization: Bearer header')
    if (token.length > MAX_TOKEN_LENGTH) throw unauthorized(`token is longer than ${MAX_TOKEN_LENGTH} characters`)
    let payload: JWTPayload
    try {
      const verified = await jwtVerify(token, this.verifyKey as Uint8Array, {
        algorithms: this.algorithms,
        issuer: this.options.issuer,
        audience: this.options.audience,
        requiredClaims: ['exp'],
      })
      payload = verified.payload
    } catch (err) {
      throw unauthorized(describeJoseError(err), err)
    }
    const claims = claimsSchema.safeParse(payload)
    if (!claims.success) {
      const issue = claims.error.issues[0]!
      throw unauthorized(`token claims are invalid: ${issue.path.join('.') || 'claims'}: ${issue.message}`)
    }
    const c = claims.data
    const fromToken = {
      teams: new Map((c.teams ?? []).map((m) => [m.id, m.role] as const)),
      spaces: new Map((c.spaces ?? []).map((m) => [m.id, m.role] as const)),
    }
    const { teams, spaces } = this.options.membershipUrl ? await this.membershipsOf(c.sub, token) : fromToken
    const limits = new Map(Object.entries(c.limits ?? {}))
    return { sub: c.sub, teams, spaces, role: c.role ?? 'editor', expiresAt: (payload.exp as number) * 1000, limits }
  }

  /**
   * Asks the app backend which teams and spaces the user belongs to (cached briefly). Fails
   * closed: an unreachable backend or an answer that is not the documented JSON refuses.
   */
  private async membershipsOf(sub: string, token: string): Promise<{ teams: Map<string, Role>; spaces: Map<string, Role> }> {
    const cached = this.memberships.get(sub)
    if (cached && Date.now() - cached.at < (this.options.membershipCacheMs ?? 30_000)) return cached
    const url = new URL(this.options.membershipUrl!)
    url.searchParams.set('sub', sub)
    const unavailable = (why: string, cause?: unknown) =>
      new YrelayError(ErrorCode.MEMBERSHIP_UNAVAILABLE, `memberships could not be checked (${why}); retry shortly`, { cause })
    let body: unknown
    try {
      const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(MEMBERSHIP_TIMEOUT_MS) })
      if (!res.ok) throw unavailable(`membership endpoint answered ${res.status}`)
      body = await res.json()
    } catch (err) {
      if (err instanceof YrelayError) throw err
      throw unavailable('membership endpoint unreachable or not JSON', err)
    }
    const answer = membershipAnswerSchema.safeParse(body)
    if (!answer.success) throw unavailable('membership endpoint answered an unexpected shape')
    const entry = {
      at: Date.now(),
      teams: new Map(answer.data.teams.map((m) => [m.id, m.role] as const)),
      spaces: new Map(answer.data.spaces.map((m) => [m.id, m.role] as const)),
    }
    if (this.memberships.size >= MEMBERSHIP_CACHE_ENTRIES) this.memberships.delete(this.memberships.keys().next().value!)
    this.memberships.set(sub, entry)
    return entry
  }

  /** Maps a document name to its storage scope and the principal's role there. */
  authorize(principal: Principal, name: string): Access {
    const check = checkDocName(name)
    if (!check.ok) throw new YrelayError(ErrorCode.BAD_DOC_NAME, `bad document name: ${check.reason}`)
    if (this.options.tenancy === 'single') return grant({ scope: '', path: name }, principal.role)
    const [kind, id, ...rest] = name.split('/')
    if ((kind !== 'users' && kind !== 'teams' && kind !== 'spaces') || !id || rest.length === 0) {
      throw new YrelayError(
        ErrorCode.BAD_DOC_NAME,
        'bad document name: on this relay documents live under users/<id>/, teams/<id>/ or spaces/<id>/ (e.g. teams/t7/spaces/roadmap)',
      )
    }
    const ref = { scope: `${kind}/${id}/`, path: rest.join('/') }
    if (!this.verifyKey) return grant(ref, 'owner')
    const r = kind === 'users' ? (principal.sub === id ? 'owner' : undefined) : (kind === 'teams' ? principal.teams : principal.spaces).get(id)
    if (!r) throw forbidden(`your token grants no access to ${kind}/${id}/`)
    return grant(ref, r)
  }

  /** The principal's role on a whole scope ("teams/t7/", or "" on a single-tenant relay). */
  authorizeScope(principal: Principal, scope: string): ScopeAccess {
    if (this.options.tenancy === 'single') {
      if (scope !== '') throw new YrelayError(ErrorCode.BAD_REQUEST, 'scope: this relay is single-tenant; omit scope or pass ""')
      return { scope, role: principal.role, canWrite: principal.role !== 'viewer' }
    }
    if (scope === '' || !isScopeKey(scope)) {
      throw new YrelayError(ErrorCode.BAD_REQUEST, 'scope: must be "users/<id>/", "teams/<id>/" or "spaces/<id>/"')
    }
    const [kind, id] = scope.split('/') as [string, string]
    const ref = this.authorize(principal, `${kind}/${id}/x`)
    return { scope, role: ref.role, canWrite: ref.canWrite }
  }

  /** The scopes a principal may read: its own user scope, its teams and its spaces. */
  scopesOf(principal: Principal): ScopeAccess[] {
    if (this.options.tenancy === 'single') return [this.authorizeScope(principal, '')]
    const out: ScopeAccess[] = []
    if (principal.sub !== null) out.push({ scope: `users/${principal.sub}/`, role: 'owner', canWrite: true })
    for (const [id, r] of principal.teams) out.push({ scope: `teams/${id}/`, role: r, canWrite: r !== 'viewer' })
    for (const [id, r] of principal.spaces) out.push({ scope: `spaces/${id}/`, role: r, canWrite: r !== 'viewer' })
    return out
  }
}

function grant(ref: DocRef, role: Role): Access {
  return { ref, role, canWrite: role !== 'viewer' }
}

function describeJoseError(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'token expired: fetch a fresh one'
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return 'token is not valid yet (nbf is in the future)'
    if (err.claim === 'exp') return 'token has no expiry (exp is required)'
    return `token claim ${err.claim} is not accepted: ${err.reason}`
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'token algorithm is not accepted by this relay'
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'token signature does not verify'
  if (err instanceof joseErrors.JWKSNoMatchingKey) return 'token is signed with a key this relay does not know'
  if (err instanceof joseErrors.JWSInvalid || err instanceof joseErrors.JWTInvalid) return 'token is not a valid JWT'
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JOSEError) return `token could not be verified: ${(err as Error).message}`
  return 'token is not a valid JWT'
}
