/** /metrics moves with real traffic: real relay, real y-websocket clients, real storage. */
import { rm, writeFile } from 'node:fs/promises'
import { SignJWT } from 'jose'
import { describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { AccessPolicy } from '../server/auth/access.js'
import { DirectoryStore } from '../server/store/directory-store.js'
import { InstrumentedStore } from '../server/store/instrumented-store.js'
import { synced, waitFor } from './support/clients.js'
import { testCleanup } from './support/cleanup.js'
import { scrape, value } from './support/prometheus.js'
import { startRelay } from './support/relay.js'
import { freshStore, tempDir } from './support/stores.js'

const cleanup = testCleanup()
const SECRET = 'a-metrics-test-secret-long-enough-123'

async function closeCodeOf(url: string): Promise<number> {
  const ws = new WebSocket(url)
  ws.on('error', () => {})
  return new Promise((resolve) => ws.once('close', (code) => resolve(code)))
}

describe('/metrics', () => {
  it('counts connections, rooms, updates, bytes, flushes, store requests and compactions as clients edit (S3)', async () => {
    const store = await freshStore('s3')
    const r = await startRelay(store, { FLUSH_MS: 100, COMPACT_LOG_COUNT: 3 })
    cleanup.defer(() => r.stop())
    const before = await scrape(r.port)
    expect(value(before, 'yrelay_connections')).toBe(0)
    expect(value(before, 'yrelay_rooms_loaded')).toBe(0)
    // No Redis here: the gauge is absent rather than reporting a Redis that looks down.
    expect([...before.keys()].some((k) => k.startsWith('yrelay_redis_connected'))).toBe(false)

    const a = cleanup.client(r.url, 'metrics/doc')
    const b = cleanup.client(r.url, 'metrics/doc')
    await Promise.all([synced(a), synced(b)])
    const open = await scrape(r.port)
    expect(value(open, 'yrelay_connections')).toBe(2)
    expect(value(open, 'yrelay_rooms_loaded')).toBe(1)
    expect(value(open, 'yrelay_connections_opened_total')).toBe(2)
    expect(value(open, 'yrelay_room_loads_total')).toBe(1)

    // Separate flushes (FLUSH_MS=100) so that the log count reaches COMPACT_LOG_COUNT.
    const edits = 5
    for (let i = 0; i < edits; i++) {
      a.text.insert(0, `edit ${i} `)
      await waitFor(() => b.text.toString() === a.text.toString(), 'b sees the edit')
      await new Promise((res) => setTimeout(res, 250))
    }
    await r.relay.rooms.flushAll()
    await r.relay.rooms.settle()
    const after = await scrape(r.port)
    expect(value(after, 'yrelay_updates_received_total') - value(open, 'yrelay_updates_received_total')).toBe(edits)
    // Two clients in the room: each accepted update is forwarded to the one other.
    expect(value(after, 'yrelay_updates_sent_total') - value(open, 'yrelay_updates_sent_total')).toBe(edits)
    expect(value(after, 'yrelay_update_bytes_received_total')).toBeGreaterThan(edits * 'edit 0 '.length)
    expect(value(after, 'yrelay_websocket_bytes_received_total')).toBeGreaterThan(value(open, 'yrelay_websocket_bytes_received_total'))
    expect(value(after, 'yrelay_websocket_bytes_sent_total')).toBeGreaterThan(value(open, 'yrelay_websocket_bytes_sent_total'))
    expect(value(after, 'yrelay_flush_duration_seconds_count')).toBeGreaterThanOrEqual(3)
    expect(value(after, 'yrelay_flush_duration_seconds_sum')).toBeGreaterThan(0)
    expect(value(after, 'yrelay_flush_failures_total')).toBe(0)
    expect(value(after, 'yrelay_store_requests_total{op="put",outcome="ok"}')).toBe(store.counts.put.ok)
    expect(value(after, 'yrelay_store_requests_total{op="put",outcome="ok"}')).toBeGreaterThanOrEqual(3)
    expect(value(after, 'yrelay_store_requests_total{op="list",outcome="ok"}')).toBeGreaterThan(0)
    expect(value(after, 'yrelay_store_bytes_total{op="put"}')).toBe(store.counts.put.bytes)
    expect(value(after, 'yrelay_compactions_total{outcome="done"}')).toBeGreaterThanOrEqual(1)
    expect(value(after, 'yrelay_process_resident_memory_bytes')).toBeGreaterThan(0)

    a.destroy()
    b.destroy()
    await waitFor(() => r.relay.rooms.size === 0, 'the room to unload')
    const gone = await scrape(r.port)
    expect(value(gone, 'yrelay_connections')).toBe(0)
    expect(value(gone, 'yrelay_rooms_loaded')).toBe(0)
  })

  it('counts failed flushes and failed store requests when storage breaks', async () => {
    const root = await tempDir()
    const store = new InstrumentedStore(new DirectoryStore(root))
    await store.init()
    const r = await startRelay(store, { FLUSH_MS: 50 })
    cleanup.defer(() => r.stop().catch(() => {}))
    const a = cleanup.client(r.url, 'broken/doc')
    await synced(a)
    // A file where the store's directory was: every write fails until it is back.
    await rm(root, { recursive: true })
    await writeFile(root, 'not a directory')
    a.text.insert(0, 'never written')
    await waitFor(() => store.counts.put.error > 0, 'a failed write')
    const broken = await scrape(r.port)
    expect(value(broken, 'yrelay_flush_failures_total')).toBeGreaterThanOrEqual(1)
    expect(value(broken, 'yrelay_store_requests_total{op="put",outcome="error"}')).toBeGreaterThanOrEqual(1)
    expect(value(broken, 'yrelay_flush_duration_seconds_count')).toBe(0)
    await rm(root)
    await store.init()
  })

  it('counts refusals by code, admission refusals as auth refusals, and quota refusals by kind', async () => {
    const store = new InstrumentedStore(new DirectoryStore(await tempDir()))
    await store.init()
    const r = await startRelay(store, {}, new AccessPolicy({ tenancy: 'multi', key: { kind: 'secret', secret: SECRET } }))
    cleanup.defer(() => r.stop())
    const token = await new SignJWT({ sub: 'u1', exp: Math.floor(Date.now() / 1000) + 600 })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(SECRET))
    expect(await closeCodeOf(`${r.url}/users/u1/doc`)).toBe(4401)
    expect(await closeCodeOf(`${r.url}/users/u1/doc?token=garbage`)).toBe(4401)
    expect(await closeCodeOf(`${r.url}/users/u2/doc?token=${token}`)).toBe(4403)
    const samples = await scrape(r.port)
    expect(value(samples, 'yrelay_auth_refusals_total{code="unauthorized"}')).toBe(2)
    expect(value(samples, 'yrelay_auth_refusals_total{code="forbidden"}')).toBe(1)
    expect(value(samples, 'yrelay_refusals_total{code="unauthorized"}')).toBe(2)
    expect(r.relay.metrics.recentRefusals().map((x) => x.code)).toEqual(['forbidden', 'unauthorized', 'unauthorized'])

    // The quota rules report through the same call, keyed by kind.
    r.relay.metrics.refused({ code: 'quota_exceeded', via: 'websocket', message: 'scope is full', quotaKind: 'storedBytes' })
    const quota = await scrape(r.port)
    expect(value(quota, 'yrelay_quota_refusals_total{kind="storedBytes"}')).toBe(1)
    expect(value(quota, 'yrelay_refusals_total{code="quota_exceeded"}')).toBe(1)
  })

  it('answers only with the bearer token when METRICS_TOKEN is set', async () => {
    const store = new InstrumentedStore(new DirectoryStore(await tempDir()))
    await store.init()
    const token = 'metrics-token-for-the-test-0123456789'
    const r = await startRelay(store, { METRICS_TOKEN: token })
    cleanup.defer(() => r.stop())
    const url = `http://127.0.0.1:${r.port}/metrics`
    const refused = await fetch(url)
    expect(refused.status).toBe(401)
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('unauthorized')
    expect((await fetch(url, { headers: { authorization: 'Bearer wrong-token-of-the-same-length-000' } })).status).toBe(401)
    const ok = await fetch(url, { headers: { authorization: `Bearer ${token}` } })
    expect(ok.status).toBe(200)
    expect(await ok.text()).toContain('yrelay_connections 0')
  })
})
