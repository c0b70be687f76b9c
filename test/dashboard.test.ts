/**
 * The admin dashboard in headless Chromium against a real relay with real clients: sign in with
 * ADMIN_TOKEN, see live connections, rooms, refusals, storage and usage per scope against its
 * limits, open a document's content and objects. A screenshot is saved to
 * test-results/admin-dashboard.png.
 */
import { mkdir } from 'node:fs/promises'
import { chromium, type Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { AccessPolicy } from '../server/auth/access.js'
import { DocStore } from '../server/docs/doc-store.js'
import { TEST_SECRET, api, tokenFor } from './support/api.js'
import { synced, waitFor } from './support/clients.js'
import { RawClient, updatesOf } from './support/raw-client.js'
import { testCleanup } from './support/cleanup.js'
import { ROOT, startRelay } from './support/relay.js'
import { freshStore, storedBytes } from './support/stores.js'

const cleanup = testCleanup()
const ADMIN_TOKEN = 'dashboard-test-admin-token-0123456789'
let browser: Browser

beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu'],
  })
})
afterAll(async () => {
  await browser?.close()
})

async function refusedWith(url: string): Promise<number> {
  const ws = new WebSocket(url)
  ws.on('error', () => {})
  return new Promise((resolve) => ws.once('close', (code) => resolve(code)))
}

describe('admin dashboard', () => {
  it('shows live connections, rooms, refusals, storage and a document view in Chromium', async () => {
    const store = await freshStore('s3')
    const r = await startRelay(store, { ADMIN_TOKEN, FLUSH_MS: 50, LIMIT_SCOPE_DOCUMENTS: 2 })
    cleanup.defer(() => r.stop())
    const a = cleanup.client(r.url, 'plans/2027')
    const b = cleanup.client(r.url, 'plans/2027')
    const c = cleanup.client(r.url, 'notes/standup')
    await Promise.all([a, b, c].map(synced))
    a.text.insert(0, 'ship the dashboard')
    a.doc.getMap('meta').set('owner', 'ops')
    c.text.insert(0, 'nothing blocked')
    await waitFor(() => b.text.toString() === 'ship the dashboard', 'b sees the edit')
    await waitFor(() => store.counts.put.ok >= 2, 'both documents flushed')
    expect(await refusedWith(`${r.url}/..%2fetc`)).toBe(4400)

    const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } })
    cleanup.defer(() => page.close())
    const http = `http://127.0.0.1:${r.port}`
    await page.goto(`${http}/admin`)
    await page.fill('#token', 'a-wrong-token-of-enough-length-000')
    await page.click('#login button[type=submit]')
    await page.waitForSelector('#login-error:has-text("ADMIN_TOKEN")')
    expect(await page.isVisible('#app')).toBe(false)

    await page.fill('#token', ADMIN_TOKEN)
    await page.click('#login button[type=submit]')
    await page.waitForSelector('#connections:text-is("3")')
    expect(await page.textContent('#rooms-count')).toBe('2')
    expect(await page.textContent('#storage')).toBe('ready')
    expect(await page.textContent('#storage-detail')).toMatch(/^s3, answered in \d+ ms$/)
    expect(await page.textContent('#redis')).toBe('not used')
    const rooms = await page.$$eval('#rooms tbody tr', (trs) => trs.map((tr) => Array.from((tr as HTMLTableRowElement).cells).map((td) => td.textContent)))
    expect(rooms).toEqual([
      ['plans/2027', '2', 'ready'],
      ['notes/standup', '1', 'ready'],
    ])
    const refusals = await page.$$eval('#refusals tbody tr', (trs) => trs.map((tr) => Array.from((tr as HTMLTableRowElement).cells).slice(1, 3).map((td) => td.textContent)))
    expect(refusals).toEqual([['bad_doc_name', 'websocket']])
    const put = await page.$$eval('#requests tbody tr', (trs) => trs.map((tr) => Array.from((tr as HTMLTableRowElement).cells).map((td) => td.textContent)).find((cells) => cells[0] === 'put'))
    expect(Number(put![1])).toBeGreaterThanOrEqual(2)

    // Usage of the bucket root against the configured document limit, which it has reached.
    const usage = await page.waitForSelector('#usage tbody tr:has(td:text-is("/ (bucket root)"))')
    const cells = await usage.$$eval('td', (tds) => tds.map((td) => ({ text: td.textContent, marked: td.querySelector('span')?.className ?? '' })))
    expect(cells.map((c) => c.text)).toEqual(['/ (bucket root)', expect.stringMatching(/^\d+ B$|^\d+\.\d KiB$/), 'no limit', '2', '2 of 2 (100 %)', '–', '0 (0 B)', "the relay's LIMIT_SCOPE_DOCUMENTS"])
    expect(cells[4]!.marked).toBe('bad')

    // The stored documents, and one opened: content as JSON, its objects.
    await page.waitForSelector('#docs a[data-doc="plans/2027"]')
    await page.click('#docs a[data-doc="plans/2027"]')
    await page.waitForSelector('#doc-name:text-is("plans/2027")')
    const content = JSON.parse((await page.textContent('#doc-content'))!) as unknown
    expect(content).toEqual({ t: 'ship the dashboard', meta: { owner: 'ops' } })
    const objects = await page.$$eval('#doc-objects tbody tr', (trs) => trs.map((tr) => Array.from((tr as HTMLTableRowElement).cells).map((td) => td.textContent)))
    expect(objects.length).toBeGreaterThanOrEqual(1)
    expect(objects.every((o) => o[0]!.startsWith('~log/') && o[1] === 'log' && o[3] === r.relay.docs.seq.instanceId)).toBe(true)

    // Live: a client leaving shows within a refresh.
    c.destroy()
    await page.waitForSelector('#connections:text-is("2")')
    await mkdir(`${ROOT}test-results`, { recursive: true })
    await page.screenshot({ path: `${ROOT}test-results/admin-dashboard.png`, fullPage: true })
  })

  it('reports usage per scope against the limits enforced there: token plans, configuration, and a scope looked up', async () => {
    const store = await freshStore('directory')
    const r = await startRelay(
      store,
      { ADMIN_TOKEN, FLUSH_MS: 50, LIMIT_SCOPE_DOCUMENTS: 10, TENANCY: 'multi' },
      new AccessPolicy({ tenancy: 'multi', key: { kind: 'secret', secret: TEST_SECRET } }),
    )
    cleanup.defer(() => r.stop())
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }
    // A scope nobody has opened, stored before the relay looked.
    const docs = new DocStore(store, { instanceId: 'seed', snapshotRetention: 2 })
    await docs.appendLog({ scope: 'users/u9/', path: 'notes/x' }, updatesOf(['archived'])[0]!)
    await store.put(`users/u9/blobs/${'a'.repeat(64)}`, new Uint8Array(700))

    const token = await tokenFor({ sub: 'u1', limits: { 'users/u1/': { storedBytes: 100_000, prefixDocuments: { 'profiles/': 2 } } } })
    const c = new RawClient(`${r.url}/users/u1/profiles/p1?token=${token}`)
    cleanup.defer(() => c.close())
    await c.ready()
    c.sendUpdate(updatesOf(['my profile'])[0]!)
    await waitFor(() => c.saved() === 1, 'profile saved')

    const seen = await api(r.port, '/admin/api/usage', { headers: admin })
    expect(seen.status).toBe(200)
    expect(seen.body.items).toEqual([
      {
        scope: 'users/u1/',
        bytes: await storedBytes(store, 'users/u1/'),
        documentBytes: await storedBytes(store, 'users/u1/'),
        blobBytes: 0,
        documents: 1,
        blobs: 0,
        limits: {
          storedBytes: { value: 100_000, source: 'the token\'s limits claim (limits["users/u1/"].storedBytes)' },
          documents: { value: 10, source: "the relay's LIMIT_SCOPE_DOCUMENTS" },
          blobBytes: { value: 100 * 1024 * 1024, source: "the relay's LIMIT_BLOB_BYTES" },
        },
        prefixes: [{ prefix: 'profiles/', documents: 1, limit: { value: 2, source: 'the token\'s limits claim (limits["users/u1/"].prefixDocuments["profiles/"])' } }],
      },
    ])

    const looked = await api(r.port, '/admin/api/usage?scope=users/u9/', { headers: admin })
    expect(looked.body.items[0]).toEqual({
      scope: 'users/u9/',
      bytes: await storedBytes(store, 'users/u9/'),
      documentBytes: (await storedBytes(store, 'users/u9/')) - 700,
      blobBytes: 700,
      documents: 1,
      blobs: 1,
      limits: { documents: { value: 10, source: "the relay's LIMIT_SCOPE_DOCUMENTS" }, blobBytes: { value: 100 * 1024 * 1024, source: "the relay's LIMIT_BLOB_BYTES" } },
      prefixes: [],
    })
    expect(looked.body.items.map((i: { scope: string }) => i.scope)).toEqual(['users/u9/', 'users/u1/'])

    for (const bad of ['../', 'users/u1', '']) {
      const refused = await api(r.port, `/admin/api/usage?scope=${encodeURIComponent(bad)}`, { headers: admin })
      expect(refused.status).toBe(400)
      expect(refused.body.error.message).toContain('is not a scope; pass "users/<id>/", "teams/<id>/" or "spaces/<id>/"')
    }
    expect((await api(r.port, '/admin/api/usage')).status).toBe(401)
  })

  it('keeps its API behind the admin token, and does not exist without one', async () => {
    const store = await freshStore('directory')
    const on = await startRelay(store, { ADMIN_TOKEN })
    cleanup.defer(() => on.stop())
    const base = `http://127.0.0.1:${on.port}`
    expect((await fetch(`${base}/admin/api/overview`)).status).toBe(401)
    expect((await fetch(`${base}/admin/api/overview`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401)
    expect((await fetch(`${base}/admin/api/overview?token=${ADMIN_TOKEN}`)).status).toBe(401)
    const ok = await fetch(`${base}/admin/api/overview`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    expect(ok.status).toBe(200)
    expect(ok.headers.get('cache-control')).toBe('no-store')
    expect(((await ok.json()) as { redis: string }).redis).toBe('off')
    // What the Redis fan-out reports through its gauge (test/cluster tests drive the real one).
    on.relay.metrics.redisConnected.set(0)
    const down = await fetch(`${base}/admin/api/overview`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    expect(((await down.json()) as { redis: string }).redis).toBe('down')
    const page = await fetch(`${base}/admin`)
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'")
    expect(await page.text()).not.toContain(ADMIN_TOKEN)

    const off = await startRelay(store)
    cleanup.defer(() => off.stop())
    const res = await fetch(`http://127.0.0.1:${off.port}/admin`)
    expect(res.status).toBe(404)
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/ADMIN_TOKEN/)
  })
})
