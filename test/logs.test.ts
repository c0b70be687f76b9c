/**
 * Logs of a real relay process: one JSON object per stdout line, HTTP requests and WebSocket
 * connections carrying their ids, and no token or secret anywhere, at trace level.
 */
import { SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { testCleanup } from './support/cleanup.js'
import { spawnRelay } from './support/relay.js'
import { s3Env } from './support/stores.js'

const cleanup = testCleanup()
const SECRET = 'a-logs-test-secret-that-is-long-enough'

async function opened(url: string, headers: Record<string, string> = {}): Promise<number | 'open'> {
  const ws = new WebSocket(url, { headers })
  ws.on('error', () => {})
  return new Promise((resolve) => {
    ws.on('message', (data: Buffer) => {
      if (data[0] !== 0) return
      resolve('open')
      ws.close()
    })
    ws.once('close', (code) => resolve(code))
  })
}

interface LogLine {
  level: number
  time: number
  msg: string
  conn?: number
  reqId?: string
  req?: { id: string; method: string; path: string }
  res?: { statusCode: number }
  [key: string]: unknown
}

describe('logs', () => {
  it('are one JSON line per event with request and connection ids, and carry no secret', async () => {
    const env = s3Env()
    const relay = await spawnRelay({ ...env, AUTH_JWT_SECRET: SECRET, TENANCY: 'multi', LOG_LEVEL: 'trace', LOG_FORMAT: 'json' })
    cleanup.defer(() => relay.stop('SIGKILL'))
    const token = await new SignJWT({ sub: 'u1', exp: Math.floor(Date.now() / 1000) + 600 })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(SECRET))
    const http = `http://127.0.0.1:${relay.port}`

    expect(await opened(`${relay.url}/users/u1/doc?token=${token}`)).toBe('open')
    expect(await opened(`${relay.url}/users/u1/doc`, { authorization: `Bearer ${token}` })).toBe('open')
    expect(await opened(`${relay.url}/users/u2/doc?token=${token}`)).toBe(4403)
    const generated = await fetch(`${http}/nope?token=${token}`, { headers: { authorization: `Bearer ${token}` } })
    expect(generated.status).toBe(404)
    const generatedId = generated.headers.get('x-request-id')
    expect(generatedId).toMatch(/^[a-z0-9]+-\d+$/)
    const kept = await fetch(`${http}/healthz?token=${token}`, { headers: { 'x-request-id': 'lb-7f3a' } })
    expect(kept.headers.get('x-request-id')).toBe('lb-7f3a')
    expect(await relay.stop('SIGTERM')).toBe(0)

    const lines = relay.stdout().split('\n').filter((l) => l !== '')
    const logs = lines.map((l) => JSON.parse(l) as LogLine)
    for (const log of logs) {
      expect(typeof log.level).toBe('number')
      expect(typeof log.time).toBe('number')
      expect(typeof log.msg).toBe('string')
    }
    const requests = logs.filter((l) => l.req)
    expect(requests.map((l) => [l.req!.id, l.req!.path, l.res!.statusCode])).toEqual([
      [generatedId, '/nope', 404],
      ['lb-7f3a', '/healthz', 200],
    ])
    const connections = logs.filter((l) => l.msg === 'connection opened' || l.msg === 'connection closed' || l.msg === 'connection refused')
    expect(connections.length).toBe(5)
    const ids = new Set(connections.map((l) => l.conn))
    expect(ids.size).toBe(3)
    expect([...ids].every((id) => typeof id === 'number')).toBe(true)

    const out = relay.output()
    for (const secret of [SECRET, token, token.split('.')[2]!, env.S3_SECRET_ACCESS_KEY!]) expect(out).not.toContain(secret)
    expect(out).not.toContain('?token=')
  })

  it('are readable lines for people with LOG_FORMAT=pretty', async () => {
    const relay = await spawnRelay({ ...s3Env(), LOG_LEVEL: 'info', LOG_FORMAT: 'pretty' })
    cleanup.defer(() => relay.stop('SIGKILL'))
    expect(await opened(`${relay.url}/notes/pretty`)).toBe('open')
    expect(await relay.stop('SIGTERM')).toBe(0)
    const lines = relay.stdout().split('\n').filter((l) => l !== '')
    expect(lines.some((l) => /INFO.*connection opened/.test(l))).toBe(true)
    expect(lines.some((l) => l.trimStart().startsWith('{'))).toBe(false)
  })
})
