/**
 * `npm start`, the benchmark and the Docker image run the relay compiled by `npm run build`
 * into dist/. The built relay must behave as the sources do: it syncs, keeps edits across a
 * restart, and finds the files it serves from the source tree (dashboard, demo page).
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { testCleanup } from './support/cleanup.js'
import { synced, waitFor } from './support/clients.js'
import { ROOT, spawnRelay } from './support/relay.js'
import { tempDir } from './support/stores.js'

const cleanup = testCleanup()
const ADMIN_TOKEN = 'build-test-admin-token-0123456789'

describe('npm run build', () => {
  it('gives a relay in dist/ that syncs, persists across a restart, and serves the dashboard and the demo page', { timeout: 120_000 }, async () => {
    await promisify(execFile)('npm', ['run', 'build'], { cwd: ROOT })
    const env = { DATA_DIR: await tempDir(), ADMIN_TOKEN }
    const built = async () => {
      const relay = await spawnRelay(env, undefined, ['dist/server/cli.js'])
      cleanup.defer(() => relay.stop('SIGKILL'))
      return relay
    }
    const first = await built()
    const a = cleanup.client(first.url, 'notes/built')
    const b = cleanup.client(first.url, 'notes/built')
    await Promise.all([synced(a), synced(b)])
    a.text.insert(0, 'compiled')
    await waitFor(() => b.text.toString() === 'compiled', 'the edit reaching the other client')
    const base = `http://127.0.0.1:${first.port}`
    const admin = await fetch(`${base}/admin`)
    expect(admin.status).toBe(200)
    expect(await admin.text()).toContain('<html')
    const demo = await fetch(`${base}/demo/app.js`)
    expect(demo.status).toBe(200)
    expect(demo.headers.get('content-type')).toContain('javascript')
    a.destroy()
    b.destroy()
    expect(await first.stop('SIGTERM')).toBe(0)

    const second = await built()
    const fresh = cleanup.client(second.url, 'notes/built')
    await synced(fresh)
    expect(fresh.text.toString()).toBe('compiled')
  })
})
