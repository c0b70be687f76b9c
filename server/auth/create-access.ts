/** The access policy the configuration asks for. */
import type { Config } from '../config.js'
import { AccessPolicy, type AuthKey } from './access.js'

export function createAccess(config: Config): AccessPolicy {
  let key: AuthKey | null = null
  if (config.AUTH_MODE === 'jwt') {
    if (config.AUTH_JWT_SECRET) key = { kind: 'secret', secret: config.AUTH_JWT_SECRET }
    else if (config.AUTH_PUBLIC_KEY) key = { kind: 'public-key', pem: config.AUTH_PUBLIC_KEY }
    else if (config.AUTH_JWKS_URL) key = { kind: 'jwks', url: config.AUTH_JWKS_URL }
  }
  return new AccessPolicy({
    tenancy: config.TENANCY,
    key,
    issuer: config.AUTH_ISSUER,
    audience: config.AUTH_AUDIENCE,
    membershipUrl: config.AUTH_MEMBERSHIP_URL,
    membershipCacheMs: config.AUTH_MEMBERSHIP_CACHE_MS,
  })
}
