/** Health endpoints: /healthz says the process answers, /readyz that storage does too. */
import { rm } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { testCleanup } from './support/cleanup.js'
import { DirectoryStore } from '../server/store/directory-store.js'
import { InstrumentedStore } from '../server/store/instrumented-store.js'
import { startRelay } from './support/relay.js'
import { s3Store, tempDir } from './support/stores.js'

const cleanup = testCleanup()

async function get(port: number, path: string): Promise<{ status: number; body: { status?: string; error?: { code: string; message: string } } }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`)
  return { status: res.status, body: (await res.json()) as never }
}

describe('health endpoints', () => {
  it('reports ready while the directory exists and not ready, with a reason, once it is gone', async () => {
    const root = await tempDir()
    const store = new InstrumentedStore(new DirectoryStore(root))
    await store.init()
    const r = await startRelay(store)
    cleanup.defer(() => r.stop().catch(() => {}))
    expect(await get(r.port, '/healthz')).toEqual({ status: 200, body: { status: 'ok' } })
    expect((await get(r.port, '/readyz')).status).toBe(200)
    await rm(root, { recursive: true })
    const notReady = await get(r.port, '/readyz')
    expect(notReady.status).toBe(503)
    expect(notReady.body.error?.code).toBe('storage_unavailable')
    expect(notReady.body.error?.message).toMatch(/directory/)
    expect((await get(r.port, '/healthz')).status).toBe(200)
  })

  it('reports not ready when the S3 bucket is unreachable', async () => {
    const store = new InstrumentedStore(s3Store('yr-never-created'))
    const r = await startRelay(store)
    cleanup.defer(() => r.stop().catch(() => {}))
    const res = await get(r.port, '/readyz')
    expect(res.status).toBe(503)
    expect(res.body.error?.code).toBe('storage_unavailable')
  })

  it('answers unknown paths with a JSON 404 naming the sync endpoint', async () => {
    const store = new InstrumentedStore(new DirectoryStore(await tempDir()))
    const r = await startRelay(store)
    cleanup.defer(() => r.stop())
    const res = await get(r.port, '/nope')
    expect(res.status).toBe(404)
    expect(res.body.error?.message).toMatch(/\/v1\/sync\//)
  })
})
