/** Mints HS256 tokens in the claim format the relay reads, for self-hosters and tests. */
import { SignJWT } from 'jose'
import { claimsSchema, type Role } from './access.js'

export interface TokenRequest {
  secret: string
  sub: string
  teams?: { id: string; role: Role }[]
  spaces?: { id: string; role: Role }[]
  role?: Role
  expiresInSeconds: number
  issuer?: string
  audience?: string
}

export async function mintToken(req: TokenRequest): Promise<string> {
  const claims = claimsSchema.parse({ sub: req.sub, teams: req.teams, spaces: req.spaces, role: req.role })
  let jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt().setExpirationTime(`${req.expiresInSeconds}s`)
  if (req.issuer) jwt = jwt.setIssuer(req.issuer)
  if (req.audience) jwt = jwt.setAudience(req.audience)
  return jwt.sign(new TextEncoder().encode(req.secret))
}
