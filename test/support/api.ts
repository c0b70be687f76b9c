/** Calling a relay's HTTP API the way an app backend or a browser would: plain fetch with a bearer token. */
import { SignJWT } from 'jose'

export const TEST_SECRET = 'a-test-secret-that-is-long-enough-1234'

/** An HS256 token for the test secret, valid for an hour unless `exp` is given. */
export async function tokenFor(claims: Record<string, unknown>, secret = TEST_SECRET): Promise<string> {
  return new SignJWT({ exp: Math.floor(Date.now() / 1000) + 3600, ...claims }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret))
}

export interface ApiAnswer {
  status: number
  body: any // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON of any endpoint, asserted field by field
  bytes: Uint8Array
}

export async function api(
  port: number,
  path: string,
  options: { method?: string; token?: string; json?: unknown; body?: Uint8Array; headers?: Record<string, string> } = {},
): Promise<ApiAnswer> {
  const headers: Record<string, string> = { ...options.headers }
  if (options.token) headers.authorization = `Bearer ${options.token}`
  let body: BodyInit | undefined
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json'
    body = JSON.stringify(options.json)
  } else if (options.body) {
    headers['content-type'] ??= 'application/octet-stream'
    body = Buffer.from(options.body)
  }
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method: options.method ?? (body ? 'POST' : 'GET'), headers, body })
  const bytes = new Uint8Array(await res.arrayBuffer())
  const type = res.headers.get('content-type') ?? ''
  return { status: res.status, bytes, body: type.startsWith('application/json') ? JSON.parse(new TextDecoder().decode(bytes)) : undefined }
}

/** Asks again until the answer satisfies `ok` (storage catches up with a flush), then returns it. */
export async function until(ask: () => Promise<ApiAnswer>, ok: (a: ApiAnswer) => boolean, what: string, timeoutMs = 10_000): Promise<ApiAnswer> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const answer = await ask()
    if (ok(answer)) return answer
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last answer ${answer.status} ${JSON.stringify(answer.body)}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}
