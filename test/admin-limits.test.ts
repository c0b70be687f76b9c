/** `yrelay usage` and `yrelay enforce-limits` as processes on a real directory store. */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { AccessPolicy } from '../server/auth/access.js'
import { DocStore } from '../server/docs/doc-store.js'
import { DirectoryStore } from '../server/store/directory-store.js'
import { listAll } from '../server/store/object-store.js'
import { testCleanup } from './support/cleanup.js'
import { sleep, waitFor } from './support/clients.js'
import { RawClient } from './support/raw-client.js'
import { ROOT, startRelay } from './support/relay.js'
import { tempDir } from './support/stores.js'

const cleanup = testCleanup()
const run = promisify(execFile)

function yrelay(dataDir: string, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, ['--import', 'tsx', 'server/cli.ts', ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', TENANCY: 'multi', DATA_DIR: dataDir } })
}

function update(text: string): Uint8Array {
  const doc = new Y.Doc()
  doc.getText('t').insert(0, text)
  return Y.encodeStateAsUpdate(doc)
}

describe('admin CLI: usage and enforce-limits', () => {
  it('reports a scope\'s usage as storage holds it, and deletes the newest documents past a prefix limit with tombstones', async () => {
    const dir = await tempDir()
    const store = new DirectoryStore(dir)
    await store.init()
    const docs = new DocStore(store, { instanceId: 'seed', snapshotRetention: 2 })
    // Created in this order, a little apart: p4 and p5 are the newest profiles.
    for (const path of ['profiles/p1', 'profiles/p2', 'profiles/p3', 'profiles/p4', 'profiles/p5', 'notes/n1']) {
      await docs.appendLog({ scope: 'users/u1/', path }, update(path))
      await sleep(30)
    }
    await store.put(`users/u1/blobs/${'c'.repeat(64)}`, new Uint8Array(100))
    let bytes = 0
    for await (const o of listAll(store, 'users/u1/')) bytes += o.size

    const usage = JSON.parse((await yrelay(dir, 'usage', 'users/u1/', '--json')).stdout)
    expect(usage).toMatchObject({ scope: 'users/u1/', documents: 6, blobs: 1, bytes })
    await expect(yrelay(dir, 'usage', 'users/u1')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('is not a scope') })

    const dry = await yrelay(dir, 'enforce-limits', '--scope', 'users/u1/', '--prefix', 'profiles/', '--max', '3', '--dry-run')
    expect(dry.stdout).toContain('5 document(s) under users/u1/profiles/; limit 3; 2 to delete (dry run: nothing deleted)')
    expect(dry.stdout).toContain('would delete users/u1/profiles/p4')
    expect(JSON.parse((await yrelay(dir, 'usage', 'users/u1/', '--json')).stdout).documents).toBe(6)

    const real = await yrelay(dir, 'enforce-limits', '--scope', 'users/u1/', '--prefix', 'profiles/', '--max', '3')
    expect(real.stdout).toContain('deleted users/u1/profiles/p4')
    expect(real.stdout).toContain('deleted users/u1/profiles/p5')
    expect(JSON.parse((await yrelay(dir, 'usage', 'users/u1/', '--json')).stdout).documents).toBe(4)
    const tombstones: string[] = []
    for await (const o of listAll(store, 'users/u1/tombstones/')) tombstones.push(o.key)
    expect(tombstones).toEqual(['users/u1/tombstones/docs/profiles/p4.json', 'users/u1/tombstones/docs/profiles/p5.json'])

    // A device that still holds p5 cannot bring it back; p1 is untouched.
    const r = await startRelay(store, {}, new AccessPolicy({ tenancy: 'multi', key: null }))
    cleanup.defer(() => r.stop())
    const p5 = new RawClient(`${r.url}/users/u1/profiles/p5`)
    cleanup.defer(() => p5.close())
    await waitFor(() => p5.closeCode !== null, 'p5 refused')
    expect(p5.closeCode).toBe(4404)
    const p1 = await new RawClient(`${r.url}/users/u1/profiles/p1`).ready()
    cleanup.defer(() => p1.close())
    expect(p1.doc.getText('t').toString()).toBe('profiles/p1')
    await expect(yrelay(dir, 'enforce-limits', '--scope', 'users/u1/', '--max', 'three')).rejects.toMatchObject({ code: 1 })
  })
})
