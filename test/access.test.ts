/**
 * Who may open what, table-driven: every hostile case gets its exact close code and touches
 * no storage; the accepted ones get the relay's first sync message.
 */
import { createServer, type Server } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import * as Y from 'yjs'
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type CryptoKey, type JWK } from 'jose'
import { AccessPolicy, type AccessOptions } from '../server/auth/access.js'
import { encodeSyncStep2, encodeSyncUpdate } from '../shared/protocol.js'
import { InstrumentedStore } from '../server/store/instrumented-store.js'
import { DirectoryStore } from '../server/store/directory-store.js'
import { testCleanup } from './support/cleanup.js'
import { rawUpgradeAndClose } from './support/raw-upgrade.js'
import { sleep, synced, waitFor } from './support/clients.js'
import { startRelay, type InProcessRelay } from './support/relay.js'
import { tempDir } from './support/stores.js'

const cleanup = testCleanup()
const SECRET = 'a-test-secret-that-is-long-enough-1234'
const OTHER_SECRET = 'another-secret-that-is-long-enough-9876'
const now = () => Math.floor(Date.now() / 1000)

type Claims = Record<string, unknown>
async function hs256(claims: Claims, secret = SECRET, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', ...header }).sign(new TextEncoder().encode(secret))
}
const valid = (extra: Claims = {}) => ({ sub: 'u1', exp: now() + 3600, ...extra })
function unsigned(claims: Claims): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`
}

/** Connects and reports the close code, or 'open' once the relay sends its sync step 1. */
async function outcome(url: string, options: { headers?: Record<string, string> } = {}): Promise<number | 'open'> {
  const ws = new WebSocket(url, options)
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

async function relayWith(options: AccessOptions): Promise<InProcessRelay & { store: InstrumentedStore }> {
  const store = new InstrumentedStore(new DirectoryStore(await tempDir()))
  await store.init()
  const r = await startRelay(store, {}, new AccessPolicy(options))
  cleanup.defer(() => r.stop())
  return { ...r, store }
}

function storageCalls(store: InstrumentedStore): number {
  return Object.values(store.counts).reduce((n, c) => n + c.ok + c.error, 0)
}

let rsa: { publicKey: CryptoKey; privateKey: CryptoKey }
let ec: { publicKey: CryptoKey; privateKey: CryptoKey }
let otherRsa: { publicKey: CryptoKey; privateKey: CryptoKey }
let jwksServer: Server
let jwks: { keys: JWK[] }
let jwksUrl: string

beforeAll(async () => {
  rsa = await generateKeyPair('RS256')
  ec = await generateKeyPair('ES256')
  otherRsa = await generateKeyPair('RS256')
  jwks = { keys: [{ ...(await exportJWK(rsa.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] }
  jwksServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks)))
  await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r))
  jwksUrl = `http://127.0.0.1:${(jwksServer.address() as { port: number }).port}/jwks.json`
})
afterAll(() => new Promise<void>((r) => jwksServer.close(() => r())))

async function rs256(claims: Claims, key = rsa.privateKey, kid = 'k1'): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).sign(key)
}

interface Case {
  name: string
  doc?: string
  token?: () => Promise<string>
  query?: string
  bearer?: boolean
  expect: number | 'open'
}

const singleTenantCases: Case[] = [
  { name: 'no token', expect: 4401 },
  { name: 'empty token', token: async () => '', expect: 4401 },
  { name: 'garbage token', token: async () => 'not-a-jwt', expect: 4401 },
  { name: 'three garbage parts', token: async () => 'a.b.c', expect: 4401 },
  { name: 'alg none', token: async () => unsigned(valid()), expect: 4401 },
  { name: 'alg none, no signature part', token: async () => unsigned(valid()).slice(0, -1), expect: 4401 },
  { name: 'wrong secret', token: () => hs256(valid(), OTHER_SECRET), expect: 4401 },
  { name: 'expired', token: () => hs256(valid({ exp: now() - 10 })), expect: 4401 },
  { name: 'not yet valid', token: () => hs256(valid({ nbf: now() + 3600 })), expect: 4401 },
  { name: 'missing exp', token: () => hs256({ sub: 'u1' }), expect: 4401 },
  { name: 'exp not a number', token: () => hs256({ sub: 'u1', exp: 'tomorrow' }), expect: 4401 },
  { name: 'missing sub', token: () => hs256({ exp: now() + 60 }), expect: 4401 },
  { name: 'sub with a path', token: () => hs256(valid({ sub: '../u2' })), expect: 4401 },
  { name: 'sub not a string', token: () => hs256(valid({ sub: 42 })), expect: 4401 },
  { name: 'unknown role', token: () => hs256(valid({ role: 'admin' })), expect: 4401 },
  { name: 'limits for a scope', token: () => hs256(valid({ limits: { '': { storedBytes: 1e9, documents: 100 } } })), expect: 'open' },
  { name: 'limits keyed by a path, not a scope', token: () => hs256(valid({ limits: { '../x/': { documents: 1 } } })), expect: 4401 },
  { name: 'limits with a negative value', token: () => hs256(valid({ limits: { '': { storedBytes: -1 } } })), expect: 4401 },
  { name: 'limits with an unknown field', token: () => hs256(valid({ limits: { '': { everything: 1 } } })), expect: 4401 },
  { name: 'RS256 token on an HS256 relay', token: () => rs256(valid()), expect: 4401 },
  { name: 'oversized token', token: async () => 'x'.repeat(9000), expect: 4401 },
  { name: 'tampered payload', token: async () => swapPayload(await hs256(valid({ role: 'viewer' })), valid({ role: 'owner' })), expect: 4401 },
  { name: 'HS384 with the right secret', token: () => new SignJWT(valid()).setProtectedHeader({ alg: 'HS384' }).sign(new TextEncoder().encode(SECRET)), expect: 4401 },
  { name: 'valid token in ?token=', token: () => hs256(valid()), expect: 'open' },
  { name: 'valid token as Bearer header', token: () => hs256(valid()), bearer: true, expect: 'open' },
  { name: 'bearer that is garbage', token: async () => 'garbage', bearer: true, expect: 4401 },
  { name: 'protocol version 1', token: () => hs256(valid()), query: '&v=1', expect: 'open' },
  { name: 'protocol version from the future', token: () => hs256(valid()), query: '&v=2', expect: 4426 },
  { name: 'protocol version not a number', token: () => hs256(valid()), query: '&v=abc', expect: 4400 },
  { name: 'protocol version zero', token: () => hs256(valid()), query: '&v=0', expect: 4400 },
  { name: 'protocol version negative', token: () => hs256(valid()), query: '&v=-1', expect: 4400 },
  { name: 'valid token, traversal name', doc: '..', token: () => hs256(valid()), expect: 4400 },
  { name: 'valid token, encoded traversal', doc: '%2e%2e/x', token: () => hs256(valid()), expect: 4400 },
  { name: 'valid token, snapshot dir name', doc: 'a/~snap', token: () => hs256(valid()), expect: 4400 },
  { name: 'valid token, hidden segment', doc: 'a/.yrelay', token: () => hs256(valid()), expect: 4400 },
  { name: 'valid token, too many segments', doc: 'a/b/c/d/e/f/g/h/i', token: () => hs256(valid()), expect: 4400 },
]

function swapPayload(token: string, claims: Claims): string {
  const [h, , s] = token.split('.')
  return `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`
}

const team = (extra: Claims = {}) =>
  valid({ teams: [{ id: 't1', role: 'editor' }, { id: 't9', role: 'viewer' }], spaces: [{ id: 's1', role: 'owner' }], ...extra })

const multiTenantCases: Case[] = [
  { name: 'own user scope', doc: 'users/u1/profiles/p1', token: () => hs256(team()), expect: 'open' },
  { name: 'another user’s scope', doc: 'users/u2/profiles/p1', token: () => hs256(team()), expect: 4403 },
  { name: 'user scope of a look-alike id', doc: 'users/u1x/profiles/p1', token: () => hs256(team()), expect: 4403 },
  { name: 'member team as editor', doc: 'teams/t1/spaces/roadmap', token: () => hs256(team()), expect: 'open' },
  { name: 'member team as viewer', doc: 'teams/t9/spaces/roadmap', token: () => hs256(team()), expect: 'open' },
  { name: 'another team', doc: 'teams/t2/spaces/roadmap', token: () => hs256(team()), expect: 4403 },
  { name: 'space owner', doc: 'spaces/s1/doc', token: () => hs256(team()), expect: 'open' },
  { name: 'another space', doc: 'spaces/s2/doc', token: () => hs256(team()), expect: 4403 },
  { name: 'team id used as a space', doc: 'spaces/t1/doc', token: () => hs256(team()), expect: 4403 },
  { name: 'space id used as a team', doc: 'teams/s1/doc', token: () => hs256(team()), expect: 4403 },
  { name: 'team membership with a path id', doc: 'teams/t1/doc', token: () => hs256(team({ teams: [{ id: '../t1', role: 'owner' }] })), expect: 4401 },
  { name: 'membership with an unknown role', doc: 'teams/t1/doc', token: () => hs256(team({ teams: [{ id: 't1', role: 'god' }] })), expect: 4401 },
  { name: 'no scope prefix', doc: 'notes/a', token: () => hs256(team()), expect: 4400 },
  { name: 'scope without a document', doc: 'users/u1', token: () => hs256(team()), expect: 4400 },
  { name: 'unknown scope kind', doc: 'orgs/o1/doc', token: () => hs256(team()), expect: 4400 },
  { name: 'traversal out of a scope', doc: 'users/u1/../u2/doc', token: () => hs256(team()), expect: 4400 },
  { name: 'no token', doc: 'users/u1/doc', expect: 4401 },
  { name: 'expired token on own scope', doc: 'users/u1/doc', token: () => hs256(team({ exp: now() - 1 })), expect: 4401 },
]

const publicKeyCases: Case[] = [
  { name: 'RS256 with the right key', token: () => rs256(valid()), expect: 'open' },
  { name: 'RS256 with another key', token: () => rs256(valid(), otherRsa.privateKey), expect: 4401 },
  { name: 'HS256 signed with the public key PEM (alg confusion)', token: async () => hs256(valid(), await exportSPKI(rsa.publicKey)), expect: 4401 },
  { name: 'alg none', token: async () => unsigned(valid()), expect: 4401 },
  { name: 'RS256 expired', token: () => rs256(valid({ exp: now() - 5 })), expect: 4401 },
]

const jwksCases: Case[] = [
  { name: 'RS256 with a published kid', token: () => rs256(valid()), expect: 'open' },
  { name: 'unpublished kid', token: () => rs256(valid(), otherRsa.privateKey, 'k-unknown'), expect: 4401 },
  { name: 'published kid, wrong key', token: () => rs256(valid(), otherRsa.privateKey, 'k1'), expect: 4401 },
  { name: 'ES256 key published after start (kid rotation)', token: () => new SignJWT(valid()).setProtectedHeader({ alg: 'ES256', kid: 'k2' }).sign(ec.privateKey), expect: 'open' },
]

async function runCases(options: () => AccessOptions, cases: Case[], defaultDoc: string) {
  const r = await relayWith(options())
  for (const c of cases) {
    const token = c.token ? await c.token() : undefined
    const doc = c.doc ?? defaultDoc
    const query = `?ext=1${token !== undefined && !c.bearer ? `&token=${encodeURIComponent(token)}` : ''}${c.query ?? ''}`
    const before = storageCalls(r.store)
    const raw = `ws://127.0.0.1:${r.port}/v1/sync/${doc}${query}`
    const got = doc.includes('..') || doc.includes('%') ? await rawOutcome(r.port, `/v1/sync/${doc}${query}`) : await outcome(raw, c.bearer ? { headers: { authorization: `Bearer ${token}` } } : {})
    expect(got, c.name).toBe(c.expect)
    if (c.expect !== 'open') expect(storageCalls(r.store) - before, `${c.name}: storage untouched`).toBe(0)
  }
}

async function rawOutcome(port: number, path: string): Promise<number | 'open'> {
  return (await rawUpgradeAndClose(port, path)).closeCode ?? 'open'
}

describe('access: hostile and valid cases', () => {
  it(`single tenant, HS256 (${singleTenantCases.length} cases)`, () => runCases(() => ({ tenancy: 'single', key: { kind: 'secret', secret: SECRET } }), singleTenantCases, 'notes/a'))
  it(`multi tenant, HS256 (${multiTenantCases.length} cases)`, () => runCases(() => ({ tenancy: 'multi', key: { kind: 'secret', secret: SECRET } }), multiTenantCases, 'users/u1/doc'))
  it(`public key (${publicKeyCases.length} cases)`, async () => {
    const pem = await exportSPKI(rsa.publicKey)
    await runCases(() => ({ tenancy: 'single', key: { kind: 'public-key', pem } }), publicKeyCases, 'notes/a')
  })
  it(`JWKS with key rotation (${jwksCases.length} cases)`, async () => {
    const r = runCases(() => ({ tenancy: 'single', key: { kind: 'jwks', url: jwksUrl } }), jwksCases.slice(0, 3), 'notes/a')
    await r
    jwks.keys.push({ ...(await exportJWK(ec.publicKey)), kid: 'k2', alg: 'ES256', use: 'sig' })
    await sleep(50)
    await runCases(() => ({ tenancy: 'single', key: { kind: 'jwks', url: jwksUrl } }), jwksCases.slice(3), 'notes/a')
  })
  it('checks issuer and audience when configured', async () => {
    const cases: Case[] = [
      { name: 'right iss and aud', token: () => hs256(valid({ iss: 'app', aud: 'yrelay' })), expect: 'open' },
      { name: 'wrong iss', token: () => hs256(valid({ iss: 'evil', aud: 'yrelay' })), expect: 4401 },
      { name: 'wrong aud', token: () => hs256(valid({ iss: 'app', aud: 'other' })), expect: 4401 },
      { name: 'missing iss', token: () => hs256(valid({ aud: 'yrelay' })), expect: 4401 },
    ]
    await runCases(() => ({ tenancy: 'single', key: { kind: 'secret', secret: SECRET }, issuer: 'app', audience: 'yrelay' }), cases, 'notes/a')
  })
})

interface HttpCase {
  name: string
  method?: string
  path: string
  token?: () => Promise<string>
  body?: Uint8Array
  json?: unknown
  status: number
}

const viewerOfT7 = () => hs256(valid({ teams: [{ id: 't7', role: 'viewer' }] }))
const oneUpdate = (() => {
  const doc = new Y.Doc()
  doc.getText('t').insert(0, 'x')
  return Y.encodeStateAsUpdate(doc)
})()
const httpCases: HttpCase[] = [
  { name: 'no token', path: '/v1/docs/users/u1/doc', status: 401 },
  { name: 'garbage token', path: '/v1/docs/users/u1/doc', token: async () => 'garbage', status: 401 },
  { name: 'alg none', path: '/v1/docs/users/u1/doc', token: async () => unsigned(valid()), status: 401 },
  { name: 'expired', path: '/v1/docs/users/u1/doc', token: () => hs256(valid({ exp: now() - 10 })), status: 401 },
  { name: 'wrong secret', path: '/v1/usage', token: () => hs256(valid(), OTHER_SECRET), status: 401 },
  { name: 'another user\'s document', path: '/v1/docs/users/u2/doc', token: () => hs256(valid()), status: 403 },
  { name: 'another team\'s listing', path: '/v1/docs?scope=teams/t8/', token: viewerOfT7, status: 403 },
  { name: 'viewer writes through the HTTP update endpoint', method: 'POST', path: '/v1/docs/teams/t7/doc/update', token: viewerOfT7, body: oneUpdate, status: 403 },
  { name: 'viewer deletes a document', method: 'DELETE', path: '/v1/docs/teams/t7/doc', token: viewerOfT7, status: 403 },
  { name: 'viewer asks for an upload URL', method: 'POST', path: '/v1/blobs/upload-url', token: viewerOfT7, json: { scope: 'teams/t7/', size: 1, contentType: 'a/b', sha256: 'a'.repeat(64) }, status: 403 },
  { name: 'viewer deletes blobs by prefix', method: 'POST', path: '/v1/blobs/delete-prefix', token: viewerOfT7, json: { scope: 'teams/t7/' }, status: 403 },
  { name: 'stranger updates another user\'s document', method: 'POST', path: '/v1/docs/users/u2/doc/update', token: () => hs256(valid()), body: oneUpdate, status: 403 },
  { name: 'usage of another scope', path: '/v1/usage?scope=users/u2/', token: () => hs256(valid()), status: 403 },
  { name: 'events of another scope', path: '/v1/events?scope=spaces/s1/', token: () => hs256(valid()), status: 403 },
  { name: 'storage-layout segment in a document name', path: '/v1/docs/users/u1/doc/~snap', token: () => hs256(valid()), status: 400 },
  { name: 'blob key of another scope', method: 'POST', path: '/v1/blobs/download-url', token: () => hs256(valid()), json: { key: `users/u2/blobs/${'b'.repeat(64)}` }, status: 403 },
]

describe('access over HTTP', () => {
  it(`refuses every hostile request with its status and touches no storage (${httpCases.length} cases)`, async () => {
    const r = await relayWith({ tenancy: 'multi', key: { kind: 'secret', secret: SECRET } })
    for (const c of httpCases) {
      const before = storageCalls(r.store)
      const headers: Record<string, string> = {}
      if (c.token) headers.authorization = `Bearer ${await c.token()}`
      let body: BodyInit | undefined
      if (c.body) {
        headers['content-type'] = 'application/octet-stream'
        body = Buffer.from(c.body)
      } else if (c.json) {
        headers['content-type'] = 'application/json'
        body = JSON.stringify(c.json)
      }
      const res = await fetch(`http://127.0.0.1:${r.port}${c.path}`, { method: c.method ?? 'GET', headers, body })
      const answer = (await res.json()) as { error?: { code: string; message: string } }
      expect(res.status, c.name).toBe(c.status)
      expect(answer.error?.message, c.name).toBeTruthy()
      expect(storageCalls(r.store) - before, `${c.name}: storage untouched`).toBe(0)
    }
  })
})

describe('membership callback', () => {
  it('asks the backend, caches briefly, and fails closed when it is down or answers garbage', async () => {
    let answer: { status: number; body: string } = { status: 200, body: JSON.stringify({ teams: [{ id: 't1', role: 'editor' }] }) }
    const asked: string[] = []
    const backend = createServer((req, res) => {
      asked.push(`${req.url} ${req.headers.authorization ? 'with token' : 'without token'}`)
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body)
    })
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r))
    cleanup.defer(() => new Promise<void>((r) => backend.close(() => r())))
    const port = (backend.address() as { port: number }).port
    const r = await relayWith({
      tenancy: 'multi',
      key: { kind: 'secret', secret: SECRET },
      membershipUrl: `http://127.0.0.1:${port}/memberships`,
      membershipCacheMs: 200,
    })
    // The token claims team t2; the backend, which is the authority, says t1.
    const token = await hs256(valid({ teams: [{ id: 't2', role: 'owner' }] }))
    const open = (doc: string) => outcome(`${r.url}/${doc}?token=${token}`)
    const cases: [string, () => void, string, number | 'open'][] = [
      ['backend grants t1', () => {}, 'teams/t1/doc', 'open'],
      ['token’s own claim t2 is not used', () => {}, 'teams/t2/doc', 4403],
      ['backend answers 500', () => (answer = { status: 500, body: '{}' }), 'teams/t1/doc', 4503],
      ['backend answers garbage', () => (answer = { status: 200, body: '<html>' }), 'teams/t1/doc', 4503],
      ['backend answers the wrong shape', () => (answer = { status: 200, body: JSON.stringify({ teams: 'all' }) }), 'teams/t1/doc', 4503],
      ['backend revokes t1', () => (answer = { status: 200, body: JSON.stringify({ teams: [] }) }), 'teams/t1/doc', 4403],
      ['user scope still works', () => {}, 'users/u1/doc', 'open'],
    ]
    for (const [name, arrange, doc, expected] of cases) {
      arrange()
      await sleep(250)
      expect(await open(doc), name).toBe(expected)
    }
    expect(asked[0]).toBe('/memberships?sub=u1 with token')
    backend.close()
    backend.closeAllConnections()
    await sleep(250)
    expect(await open('teams/t1/doc'), 'backend down').toBe(4503)
  })
})

describe('roles and expiry on live connections', () => {
  it('a team’s editors converge; a viewer sees edits live but cannot change the document; a stranger cannot connect', async () => {
    const r = await relayWith({ tenancy: 'multi', key: { kind: 'secret', secret: SECRET } })
    const doc = 'teams/t7/spaces/roadmap'
    const editor = (sub: string) => hs256(valid({ sub, teams: [{ id: 't7', role: 'editor' }] }))
    const a = cleanup.client(r.url, doc, { params: { token: await editor('ada') } })
    const b = cleanup.client(r.url, doc, { params: { token: await editor('bob') } })
    const viewer = cleanup.client(r.url, doc, { params: { token: await hs256(valid({ sub: 'vic', teams: [{ id: 't7', role: 'viewer' }] })) } })
    await Promise.all([synced(a), synced(b), synced(viewer)])
    a.text.insert(0, 'from ada. ')
    b.text.insert(0, 'from bob. ')
    await waitFor(() => a.text.toString() === b.text.toString() && viewer.text.toString() === a.text.toString() && a.text.length === 20, 'editors and viewer converge')
    const putsBefore = r.store.counts.put.ok
    viewer.text.insert(0, 'VIEWER WAS HERE ')
    viewer.provider.awareness.setLocalStateField('user', { name: 'Vic' })
    await waitFor(() => a.provider.awareness.getStates().get(viewer.doc.clientID)?.user?.name === 'Vic', 'viewer presence relayed')
    await sleep(600)
    expect(a.text.toString()).not.toContain('VIEWER')
    expect(b.text.toString()).not.toContain('VIEWER')
    expect(viewer.provider.wsconnected).toBe(true)
    const fresh = cleanup.client(r.url, doc, { params: { token: await editor('cy') } })
    await synced(fresh)
    expect(fresh.text.toString()).toBe(a.text.toString())
    expect(r.store.counts.put.ok - putsBefore).toBeLessThanOrEqual(1)
    const stranger = await outcome(`${r.url}/${doc}?token=${await hs256(valid({ sub: 'eve' }))}`)
    expect(stranger).toBe(4403)
  })

  it('refuses a viewer’s sync step 2 and update alike, telling the client why', async () => {
    const r = await relayWith({ tenancy: 'single', key: { kind: 'secret', secret: SECRET } })
    const watcher = cleanup.client(r.url, 'notes/ro', { params: { token: await hs256(valid()) } })
    await synced(watcher)
    const ws = new WebSocket(`${r.url}/notes/ro?ext=1&token=${await hs256(valid({ role: 'viewer' }))}`)
    const got: number[] = []
    ws.on('message', (d: Buffer) => got.push(d[0]!))
    await new Promise((res) => ws.once('open', res))
    const change = new Y.Doc()
    change.getText('t').insert(0, 'nope')
    const update = Y.encodeStateAsUpdate(change)
    ws.send(encodeSyncStep2(update))
    ws.send(encodeSyncUpdate(update))
    await waitFor(() => got.filter((t) => t === 2).length === 2 && got.filter((t) => t === 100).length === 2, 'permission denied and error, twice')
    await sleep(300)
    expect(watcher.text.toString()).toBe('')
    expect(ws.readyState).toBe(WebSocket.OPEN)
    ws.close()
  })

  it('accepts a token minted by `yrelay token` from an unmodified y-websocket client', async () => {
    const { execFile } = await import('node:child_process')
    const { promisify } = await import('node:util')
    const { ROOT } = await import('./support/relay.js')
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'server/cli.ts', 'token', '--sub', 'ada', '--team', 't7:viewer', '--space', 's1:editor', '--expires-in', '600'],
      { cwd: ROOT, env: { PATH: process.env.PATH, AUTH_JWT_SECRET: SECRET } },
    )
    const r = await relayWith({ tenancy: 'multi', key: { kind: 'secret', secret: SECRET } })
    const token = stdout.trim()
    const own = cleanup.client(r.url, 'users/ada/profile', { params: { token } })
    const space = cleanup.client(r.url, 'spaces/s1/notes', { params: { token } })
    await Promise.all([synced(own), synced(space)])
    expect(await outcome(`${r.url}/teams/t7/x?token=${token}`)).toBe('open')
    expect(await outcome(`${r.url}/teams/t8/x?token=${token}`)).toBe(4403)
  })

  it('closes a connection with 4401 when its token expires', async () => {
    const r = await relayWith({ tenancy: 'single', key: { kind: 'secret', secret: SECRET } })
    const ws = new WebSocket(`${r.url}/notes/exp?token=${await hs256(valid({ exp: now() + 2 }))}`)
    const closed = new Promise<{ code: number; at: number }>((res) => ws.once('close', (code) => res({ code, at: Date.now() })))
    await new Promise((res) => ws.once('open', res))
    const openedAt = Date.now()
    const { code, at } = await closed
    expect(code).toBe(4401)
    expect(at - openedAt).toBeGreaterThan(500)
  })
})

describe('logs', () => {
  it('never contain a token or the secret, whatever the outcome', async () => {
    const { spawnRelay } = await import('./support/relay.js')
    const relay = await spawnRelay({ DATA_DIR: await tempDir(), AUTH_JWT_SECRET: SECRET, TENANCY: 'multi', LOG_LEVEL: 'trace' })
    cleanup.defer(() => relay.stop('SIGKILL'))
    const good = await hs256(valid())
    const expired = await hs256(valid({ exp: now() - 5 }))
    const forged = await hs256(valid(), OTHER_SECRET)
    expect(await outcome(`${relay.url}/users/u1/doc?token=${good}`)).toBe('open')
    expect(await outcome(`${relay.url}/users/u2/doc?token=${good}`)).toBe(4403)
    expect(await outcome(`${relay.url}/users/u1/doc?token=${expired}`)).toBe(4401)
    expect(await outcome(`${relay.url}/users/u1/doc`, { headers: { authorization: `Bearer ${forged}` } })).toBe(4401)
    await fetch(`http://127.0.0.1:${relay.port}/nope?token=${good}`)
    expect(await relay.stop('SIGTERM')).toBe(0)
    const out = relay.output()
    expect(out).toMatch(/connection refused/)
    for (const secret of [SECRET, good, expired, forged, ...[good, expired, forged].map((t) => t.split('.')[2]!)]) {
      expect(out).not.toContain(secret)
    }
  })
})

describe('principal', () => {
  it('carries the token’s memberships, role, expiry and per-scope limits', async () => {
    const policy = new AccessPolicy({ tenancy: 'multi', key: { kind: 'secret', secret: SECRET } })
    const exp = now() + 600
    const p = await policy.authenticate(
      await hs256({ sub: 'u1', exp, teams: [{ id: 't7', role: 'viewer' }], limits: { 'teams/t7/': { documents: 5 } } }),
    )
    expect(p).toMatchObject({ sub: 'u1', role: 'editor', expiresAt: exp * 1000 })
    expect(p.teams.get('t7')).toBe('viewer')
    expect(p.limits.get('teams/t7/')).toEqual({ documents: 5 })
    expect(policy.authorize(p, 'teams/t7/spaces/x')).toEqual({ ref: { scope: 'teams/t7/', path: 'spaces/x' }, role: 'viewer', canWrite: false })
  })
})
