/**
 * The client SDK in Node against real relays: status machine, saved counter, replica first,
 * token refresh, refusals, backoff and failover between relays.
 */
import { createServer, type Server } from 'node:http'
import { describe, expect, it, vi } from 'vitest'
import { WebSocket } from 'ws'
import { AccessPolicy } from '../server/auth/access.js'
import { DirectoryStore } from '../server/store/directory-store.js'
import { mintToken } from '../server/auth/mint-token.js'
import { backoffDelay } from '../client/backoff.js'
import { MemoryReplicas, createClient, type ClientOptions, type Space, type SpaceStatus, type SyncClient } from '../client/node.js'
import type { WebSocketClass } from '../client/space.js'
import { testCleanup } from './support/cleanup.js'
import { sleep, waitFor } from './support/clients.js'
import { spawnRelay, startRelay } from './support/relay.js'
import { freePort } from './support/s3-server.js'
import { freshStore, storedText, tempDir } from './support/stores.js'

const cleanup = testCleanup()
const SECRET = 'a-client-test-secret-long-enough-1234'
const FAST_BACKOFF = { initialMs: 50, maxMs: 400 }

function sdk(options: ClientOptions): SyncClient {
  const sync = createClient({ backoff: FAST_BACKOFF, ...options })
  cleanup.defer(() => sync.destroy())
  return sync
}

async function relay(options: { store?: Awaited<ReturnType<typeof freshStore>>; access?: AccessPolicy; port?: number; flushMs?: number } = {}) {
  const store = options.store ?? (await freshStore('directory'))
  const r = await startRelay(store, { FLUSH_MS: options.flushMs ?? 200, ...(options.port ? { PORT: options.port } : {}) }, options.access)
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    await r.stop()
  }
  cleanup.defer(stop)
  return { ...r, store, stop }
}

/** Every status a space emits, starting with its current one. */
function record(space: Space): SpaceStatus[] {
  const seen = [space.status]
  space.on('status', (s) => seen.push(s))
  return seen
}

/** Distinct values in order, without repeats: the path a status field took. */
function path<T>(values: T[]): T[] {
  return values.filter((v, i) => i === 0 || v !== values[i - 1])
}

/** A WebSocket class that records when each connection attempt starts. */
function countingSockets(): { WebSocket: WebSocketClass; attempts: number[] } {
  const attempts: number[] = []
  class Counted extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols)
      attempts.push(Date.now())
    }
  }
  return { WebSocket: Counted as unknown as WebSocketClass, attempts }
}

function token(sub: string, options: { teams?: { id: string; role: 'owner' | 'editor' | 'viewer' }[]; expiresInSeconds?: number } = {}): Promise<string> {
  return mintToken({ secret: SECRET, sub, teams: options.teams, expiresInSeconds: options.expiresInSeconds ?? 3600 })
}

function multiTenant(extra: Partial<ConstructorParameters<typeof AccessPolicy>[0]> = {}): AccessPolicy {
  return new AccessPolicy({ tenancy: 'multi', key: { kind: 'secret', secret: SECRET }, ...extra })
}

async function closedPortUrl(): Promise<string> {
  return `ws://127.0.0.1:${await freePort()}`
}

describe('client SDK: status and saved counter', () => {
  it('loads, syncs and saves: offline → connecting → online, saving 3 → saved, and storage holds the text', async () => {
    const r = await relay({ flushMs: 600 })
    const space = sdk({ url: r.url }).open('notes/a')
    const seen = record(space)
    await space.whenLoaded
    await space.whenSynced
    await space.whenSaved()
    const text = space.doc.getText('t')
    text.insert(0, 'a')
    text.insert(1, 'b')
    text.insert(2, 'c')
    // Three update messages sent, none acknowledged: the relay flushes 600 ms later.
    expect(space.status).toMatchObject({ pending: 3, saved: false })
    await space.whenSaved()
    expect(space.status).toMatchObject({ connection: 'online', synced: true, pending: 0, saved: true, error: null, relay: r.url })
    expect(path(seen.map((s) => s.connection))).toEqual(['offline', 'connecting', 'online'])
    expect(seen.some((s) => s.pending === 3)).toBe(true)
    // whenSaved means durable: storage itself holds the text, read without the relay.
    expect(await storedText(r.store, 'notes/a')).toBe('abc')
  })

  it('renders the local replica without a relay, counts offline changes, and saves them through the handshake once a relay is there', async () => {
    const replicas = new MemoryReplicas()
    const port = await freePort()
    const url = `ws://127.0.0.1:${port}`
    // An earlier session left text in the replica; no relay is listening now.
    const first = sdk({ url, replicas: replicas.factory })
    const before = first.open('notes/offline')
    await before.whenLoaded
    before.doc.getText('t').insert(0, 'written offline')
    await before.close()

    const sync = sdk({ url, replicas: replicas.factory })
    const space = sync.open('notes/offline')
    const seen = record(space)
    await space.whenLoaded
    expect(space.doc.getText('t').toString()).toBe('written offline')
    space.doc.getText('t').insert(0, '1 ')
    space.doc.getText('t').insert(0, '2 ')
    // The replica's state and two edits: three changes no connection has carried.
    expect(space.status.pending).toBe(3)
    await waitFor(() => space.status.error?.code === 'relay_unreachable', 'unreachable error')
    expect(space.status.connection).not.toBe('online')

    const r = await relay({ port })
    await space.whenSynced
    await space.whenSaved()
    expect(await storedText(r.store, 'notes/offline')).toBe('2 1 written offline')
    // Once the handshake re-sent them, the three changes were one sync step 2 pending, then none.
    const online = seen.findIndex((s) => s.connection === 'online')
    expect(path(seen.slice(online).map((s) => s.pending))).toEqual([3, 1, 0])
    expect(space.status.error).toBeNull()
  })

  it('counts what a crashed relay never acknowledged as pending, and the next relay gets it from the handshake', async () => {
    const dataDir = await tempDir()
    const port = await freePort()
    const env = { DATA_DIR: dataDir, FLUSH_MS: '60000' }
    const first = await spawnRelay(env, port)
    cleanup.defer(() => first.stop('SIGKILL'))
    const space = sdk({ url: first.url }).open('notes/crash')
    await space.whenSynced
    await space.whenSaved()
    // Flushes are a minute away: these two stay unacknowledged, then the relay dies with them.
    space.doc.getText('t').insert(0, 'xy')
    space.doc.getText('t').insert(0, 'z')
    expect(space.status.pending).toBe(2)
    await first.stop('SIGKILL')
    await waitFor(() => space.status.connection !== 'online', 'client sees the relay go')
    expect(space.status.pending).toBe(2)
    const second = await spawnRelay({ ...env, FLUSH_MS: '200' }, port)
    cleanup.defer(() => second.stop())
    await space.whenSaved()
    expect(await storedText(new DirectoryStore(dataDir), 'notes/crash')).toBe('zxy')
  })
})

describe('client SDK: tokens and refusals', () => {
  it('fetches a token before connecting and a fresh one after 4401 (expired), then keeps syncing', async () => {
    const r = await relay({ access: multiTenant() })
    let calls = 0
    const sync = sdk({
      url: r.url,
      token: async () => {
        calls++
        // The first token expires in 2 s: the relay closes with 4401 then.
        return token('u1', { expiresInSeconds: calls === 1 ? 2 : 3600 })
      },
    })
    const space = sync.open('users/u1/notes')
    const seen = record(space)
    await space.whenSynced
    expect(calls).toBe(1)
    await waitFor(() => calls === 2 && space.status.connection === 'online' && space.status.synced, 'reconnected with a fresh token', 20_000)
    space.doc.getText('t').insert(0, 'after refresh')
    await space.whenSaved()
    expect(seen.some((s) => s.error?.code === 'unauthorized')).toBe(true)
    const other = sdk({ url: r.url, token: () => token('u1') }).open('users/u1/notes')
    await waitFor(() => other.doc.getText('t').toString() === 'after refresh', 'a second client sees the edit')
  })

  it('replaces a token the relay refuses (4401) and connects with the next one', async () => {
    const r = await relay({ access: multiTenant() })
    const tokens = ['not-a-jwt', await token('u1')]
    let calls = 0
    const space = sdk({ url: r.url, token: () => tokens[calls++] }).open('users/u1/a')
    await space.whenSynced
    expect(calls).toBe(2)
  })

  it('stops on 4403 with the relay’s code and message, and does not reconnect', async () => {
    const r = await relay({ access: multiTenant() })
    const sockets = countingSockets()
    const space = sdk({ url: r.url, token: () => token('u1'), WebSocket: sockets.WebSocket }).open('users/u2/private')
    await expect(space.whenSynced).rejects.toMatchObject({ code: 'forbidden' })
    expect(space.status.error?.code).toBe('forbidden')
    expect(space.status.error?.message).toMatch(/u2/)
    expect(space.status.connection).toBe('offline')
    await expect(space.whenSaved()).rejects.toMatchObject({ code: 'forbidden' })
    await sleep(1000)
    expect(sockets.attempts).toHaveLength(1)
  })

  it('a viewer: refused changes surface as a forbidden error, stay local and unsaved; the connection stays', async () => {
    const r = await relay({ access: multiTenant() })
    const editor = sdk({ url: r.url, token: () => token('u1', { teams: [{ id: 't7', role: 'editor' }] }) }).open('teams/t7/doc')
    editor.doc.getText('t').insert(0, 'by editor')
    await editor.whenSaved()
    const warn = vi.spyOn(console, 'warn')
    cleanup.defer(() => warn.mockRestore())
    const viewer = sdk({ url: r.url, token: () => token('u2', { teams: [{ id: 't7', role: 'viewer' }] }) }).open('teams/t7/doc')
    await viewer.whenSynced
    // A viewer with no changes of its own is saved (its empty handshake is acknowledged).
    await viewer.whenSaved()
    expect(viewer.doc.getText('t').toString()).toBe('by editor')
    viewer.doc.getText('t').insert(0, 'viewer: ')
    await expect(viewer.whenSaved()).rejects.toMatchObject({ code: 'forbidden' })
    expect(viewer.status).toMatchObject({ connection: 'online', saved: false, error: { code: 'forbidden' } })
    expect(viewer.doc.getText('t').toString()).toBe('viewer: by editor')
    // y-websocket's own handler would print the URL with the token in it.
    expect(warn).not.toHaveBeenCalled()
    await sleep(500)
    expect(editor.doc.getText('t').toString()).toBe('by editor')
  })
})

describe('client SDK: backoff and failover', () => {
  it('backs off with jitter on 4503 and connects once the relay can admit it', async () => {
    let membershipUp = false
    const membership: Server = createServer((_req, res) => {
      if (!membershipUp) return void res.writeHead(500).end()
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ teams: [{ id: 't1', role: 'editor' }], spaces: [] }))
    })
    await new Promise<void>((resolve) => membership.listen(0, '127.0.0.1', resolve))
    cleanup.defer(() => new Promise((resolve) => membership.close(resolve)))
    const port = (membership.address() as { port: number }).port
    const r = await relay({ access: multiTenant({ membershipUrl: `http://127.0.0.1:${port}/m`, membershipCacheMs: 0 }) })
    const sockets = countingSockets()
    const backoff = { initialMs: 100, maxMs: 800 }
    const space = sdk({ url: r.url, token: () => token('u1'), WebSocket: sockets.WebSocket, backoff }).open('teams/t1/doc')
    await waitFor(() => sockets.attempts.length >= 6, 'six attempts', 20_000)
    expect(space.status.error?.code).toBe('membership_unavailable')
    const gaps = sockets.attempts.slice(1, 6).map((t, i) => t - sockets.attempts[i]!)
    // Retry i waits between half and all of min(max, initial·2^i), plus connection time (which a
    // busy machine stretches; the exact delays are checked without sockets below).
    gaps.forEach((gap, i) => {
      const ceiling = Math.min(backoff.maxMs, backoff.initialMs * 2 ** i)
      expect(gap).toBeGreaterThanOrEqual(ceiling / 2 - 5)
      expect(gap).toBeLessThan(ceiling + 1000)
    })
    expect(gaps[4]!).toBeGreaterThan(gaps[0]!)
    membershipUp = true
    await space.whenSynced
    expect(space.status.error).toBeNull()
  })

  it('moves to the next relay when one is unreachable, and again when its relay drains', async () => {
    const store = await freshStore('directory')
    const a = await relay({ store })
    const b = await relay({ store })
    const dead = await closedPortUrl()
    const space = sdk({ urls: [dead, a.url, b.url] }).open('notes/failover')
    await space.whenSynced
    expect(space.status.relay).toBe(a.url)
    space.doc.getText('t').insert(0, 'on a. ')
    await space.whenSaved()
    const watcher = sdk({ url: b.url }).open('notes/failover')
    await a.stop()
    await waitFor(() => space.status.relay === b.url && space.status.synced, 'moved to relay b')
    space.doc.getText('t').insert(6, 'on b.')
    await space.whenSaved()
    await waitFor(() => watcher.doc.getText('t').toString() === 'on a. on b.', 'the edit made after failover reaches relay b')
  })
})

describe('client SDK: pieces', () => {
  it('backoff delays stay within half and all of the exponential ceiling', () => {
    const options = { initialMs: 100, maxMs: 1000 }
    expect([0, 1, 2, 3, 4, 10].map((n) => backoffDelay(n, options, () => 0))).toEqual([50, 100, 200, 400, 500, 500])
    expect([0, 1, 2, 3, 4, 10].map((n) => backoffDelay(n, options, () => 1))).toEqual([100, 200, 400, 800, 1000, 1000])
  })

  it('refuses an invalid document name before connecting', () => {
    const sync = sdk({ url: 'ws://127.0.0.1:1' })
    expect(() => sync.open('../etc/passwd')).toThrow(expect.objectContaining({ code: 'bad_doc_name' }))
  })
})
