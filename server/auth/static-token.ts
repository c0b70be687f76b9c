/** Operator tokens (ADMIN_TOKEN, METRICS_TOKEN): a fixed secret sent as `Authorization: Bearer`. */
import { createHash, timingSafeEqual } from 'node:crypto'

/** Compares hashes, so the comparison takes the same time whatever the guess and its length. */
export function bearerMatches(authorization: string | undefined, secret: string): boolean {
  const given = authorization?.match(/^Bearer (.+)$/i)?.[1]
  if (!given) return false
  return timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(secret).digest())
}
