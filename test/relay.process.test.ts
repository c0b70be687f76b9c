/** The relay as users run it: its own process, restarted, drained, killed. */
import { describe, expect, it } from 'vitest'
import { testCleanup } from './support/cleanup.js'
import { WebSocket } from 'ws'
import { InstrumentedStore } from '../server/store/instrumented-store.js'
import { DirectoryStore } from '../server/store/directory-store.js'
import { sleep, synced, waitFor } from './support/clients.js'
import { rawUpgradeAndClose } from './support/raw-upgrade.js'
import { spawnRelay, startRelay, type RelayProcess } from './support/relay.js'
import { STORE_KINDS, s3Env, tempDir, type StoreKind } from './support/stores.js'

const cleanup = testCleanup()
const client = cleanup.client

async function storageEnv(kind: StoreKind): Promise<Record<string, string>> {
  return kind === 's3' ? s3Env() : { DATA_DIR: await tempDir() }
}

async function relay(env: Record<string, string>, port?: number): Promise<RelayProcess> {
  const r = await spawnRelay(env, port)
  cleanup.defer(() => r.stop('SIGKILL'))
  return r
}

describe.each(STORE_KINDS)('relay process on %s', (kind) => {
  it('keeps every edit across SIGTERM and a new process on the same storage', async () => {
    const env = await storageEnv(kind)
    const first = await relay(env)
    const a = client(first.url, 'notes/restart')
    const b = client(first.url, 'teams/t1/spaces/s1')
    await Promise.all([synced(a), synced(b)])
    for (let i = 0; i < 50; i++) a.text.insert(a.text.length, `${i},`)
    b.text.insert(0, 'second doc')
    await sleep(20)
    const expected = a.text.toString()
    a.destroy()
    b.destroy()
    expect(await first.stop('SIGTERM')).toBe(0)
    const second = await relay(env)
    const fresh = client(second.url, 'notes/restart')
    const fresh2 = client(second.url, 'teams/t1/spaces/s1')
    await Promise.all([synced(fresh), synced(fresh2)])
    expect(fresh.text.toString()).toBe(expected)
    expect(fresh2.text.toString()).toBe('second doc')
  })

  it('heals from its clients after kill -9 before a flush', async () => {
    const env = { ...(await storageEnv(kind)), FLUSH_MS: '600000' }
    const first = await relay(env)
    const a = client(first.url, 'notes/heal')
    await synced(a)
    a.text.insert(0, 'never flushed by the first relay')
    const other = client(first.url, 'notes/heal')
    await waitFor(() => other.text.toString() === a.text.toString(), 'relayed before the crash')
    other.destroy()
    expect(await first.stop('SIGKILL')).toBeNull()
    await waitFor(() => !a.provider.wsconnected, 'client noticed the crash')
    a.text.insert(a.text.length, ' + typed while the relay was down')
    const second = await relay({ ...env, FLUSH_MS: '100' }, first.port)
    await waitFor(() => a.provider.wsconnected && a.provider.synced, 'client reconnected', 20_000)
    const expected = a.text.toString()
    await sleep(500)
    a.destroy()
    const fresh = client(second.url, 'notes/heal')
    await synced(fresh)
    expect(fresh.text.toString()).toBe(expected)
    expect(await second.stop('SIGTERM')).toBe(0)
    const third = await relay(env)
    const fromStorage = client(third.url, 'notes/heal')
    await synced(fromStorage)
    expect(fromStorage.text.toString()).toBe(expected)
  })
})

describe('draining', () => {
  it('closes clients with 4503, writes pending updates and exits 0 on SIGTERM', async () => {
    const env = { DATA_DIR: await tempDir(), FLUSH_MS: '600000' }
    const first = await relay(env)
    const ws = new WebSocket(`${first.url}/notes/drain`)
    await new Promise((r) => ws.once('open', r))
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)))
    const a = client(first.url, 'notes/drain')
    await synced(a)
    a.text.insert(0, 'pending at shutdown')
    await sleep(100)
    expect(await first.stop('SIGTERM')).toBe(0)
    expect(await closed).toBe(4503)
    a.destroy()
    const second = await relay(env)
    const fresh = client(second.url, 'notes/drain')
    await synced(fresh)
    expect(fresh.text.toString()).toBe('pending at shutdown')
  })
})

describe('logs nobody reads', () => {
  it('keep the relay serving and stoppable when its stdout reader goes away', async () => {
    const { spawn } = await import('node:child_process')
    const { freePort } = await import('./support/s3-server.js')
    const { ROOT } = await import('./support/relay.js')
    const port = await freePort()
    // A real pipe whose reader (head) leaves after the first byte, as a dying log collector does.
    const sh = spawn('sh', ['-c', '(echo "pid $$" >&2; exec "$NODE" --import tsx server/cli.ts serve) | head -c 1 > /dev/null'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', NODE: process.execPath, PORT: String(port), DATA_DIR: await tempDir(), LOG_LEVEL: 'debug' },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let err = ''
    sh.stderr!.on('data', (d: Buffer) => (err += d.toString()))
    await waitFor(() => /pid \d+/.test(err), 'relay pid')
    const pid = Number(/pid (\d+)/.exec(err)![1])
    cleanup.defer(() => {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // already gone
      }
    })
    const url = `ws://127.0.0.1:${port}/v1/sync`
    let healthy = false
    await waitFor(() => {
      void fetch(`http://127.0.0.1:${port}/healthz`).then((res) => (healthy = res.ok), () => {})
      return healthy
    }, 'relay answering')
    const a = client(url, 'notes/unlogged')
    const b = client(url, 'notes/unlogged')
    await Promise.all([synced(a), synced(b)])
    a.text.insert(0, 'still relayed')
    await waitFor(() => b.text.toString() === 'still relayed', 'relayed with stdout gone')
    a.destroy()
    b.destroy()
    process.kill(pid, 'SIGTERM')
    await waitFor(() => {
      try {
        process.kill(pid, 0)
        return false
      } catch {
        return true
      }
    }, 'relay exited after SIGTERM', 10_000)
  })
})

describe('bad document names', () => {
  const bad = ['..', 'notes/..', '%2e%2e', 'notes/%2e%2e/x', 'a//b', '/a', 'a/', 'a\\b', 'a%5cb', 'nul%00x', 'x'.repeat(600), 'notes/~snap', '~snap', '.hidden', 'a/b/c/d/e/f/g/h/i', 'caf%C3%A9', 'a/b%2fc', '']
  it.each(bad)('refuses %j with 4400 before any storage call', async (name) => {
    const store = new InstrumentedStore(new DirectoryStore(await tempDir()))
    await store.init()
    const r = await startRelay(store)
    cleanup.defer(() => r.stop())
    const { status, closeCode, reason } = await rawUpgradeAndClose(r.port, `/v1/sync/${name}`)
    expect(status).toBe(101)
    expect(closeCode).toBe(4400)
    expect(reason).toMatch(/bad document name/)
    for (const op of Object.values(store.counts)) expect(op.ok + op.error).toBe(0)
    expect(r.relay.rooms.size).toBe(0)
  })

  it('refuses raw non-ASCII and control bytes in the path at the HTTP layer (400), before any storage call', async () => {
    const store = new InstrumentedStore(new DirectoryStore(await tempDir()))
    await store.init()
    const r = await startRelay(store)
    cleanup.defer(() => r.stop())
    for (const name of ['caf\u00e9', 'nul\u0000x', 'tab\tx']) {
      expect((await rawUpgradeAndClose(r.port, `/v1/sync/${name}`)).status).toBe(400)
    }
    for (const op of Object.values(store.counts)) expect(op.ok + op.error).toBe(0)
  })
})
