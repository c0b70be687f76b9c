/**
 * The admin commands as a user runs them (`yrelay <command>` processes) on documents a real
 * relay wrote to a real S3 bucket: inspect, compact, and export → import into a fresh bucket
 * reproducing every document's content exactly.
 */
import { execFile } from 'node:child_process'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { AccessPolicy } from '../server/auth/access.js'
import { contentJson } from '../server/docs/content-json.js'
import { DocStore } from '../server/docs/doc-store.js'
import { documentObjects, listDocuments, refOfName } from '../server/docs/doc-index.js'
import type { ObjectStore } from '../server/store/object-store.js'
import { synced, waitFor } from './support/clients.js'
import { testCleanup } from './support/cleanup.js'
import { ROOT, startRelay } from './support/relay.js'
import { freshStore, s3Env, s3Store, tempDir, uniqueBucket } from './support/stores.js'

const cleanup = testCleanup()
const run = promisify(execFile)

async function yrelay(env: Record<string, string>, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, ['--import', 'tsx', 'server/cli.ts', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', TENANCY: 'multi', ...env },
  })
}

/** Each document's state, loaded as a relay loads it and normalised through a Y.Doc. */
async function statesOf(store: ObjectStore): Promise<Map<string, { state: Uint8Array; json: unknown }>> {
  const docs = new DocStore(store, { instanceId: 'check', snapshotRetention: 2 })
  const out = new Map<string, { state: Uint8Array; json: unknown }>()
  for await (const d of listDocuments(store, '', 'multi')) {
    const loaded = await docs.load(d.ref)
    const doc = new Y.Doc()
    Y.applyUpdate(doc, loaded.update)
    out.set(d.name, { state: Y.encodeStateAsUpdate(doc), json: contentJson(loaded.update) })
    doc.destroy()
  }
  return out
}

describe('admin CLI on a real store', () => {
  it('inspects, compacts, exports and imports into a fresh bucket with every document identical', async () => {
    const source = await freshStore('s3')
    const bucket = (source.inner as unknown as { bucket: string }).bucket
    const r = await startRelay(source, { FLUSH_MS: 50, COMPACT_LOG_COUNT: 1000 }, new AccessPolicy({ tenancy: 'multi', key: null }))
    cleanup.defer(() => r.stop().catch(() => {}))
    const instanceId = r.relay.docs.seq.instanceId

    const note = cleanup.client(r.url, 'users/u1/notes/a')
    const roadmap = cleanup.client(r.url, 'teams/t7/spaces/roadmap')
    const tasks = cleanup.client(r.url, 'teams/t7/spaces/roadmap/tasks')
    const journal = cleanup.client(r.url, 'spaces/s1/journal')
    await Promise.all([note, roadmap, tasks, journal].map(synced))
    // Several flushes per document, deletions and formatting included.
    for (let i = 0; i < 4; i++) {
      note.text.insert(note.text.length, `line ${i}\n`)
      roadmap.doc.getMap('meta').set(`k${i}`, { n: i, tags: ['a', `t${i}`] })
      tasks.doc.getArray<string>('items').push([`task ${i}`])
      journal.text.insert(0, `entry ${i} `, { bold: i % 2 === 0 })
      if (i === 2) {
        note.text.delete(0, 3)
        tasks.doc.getArray('items').delete(0, 1)
      }
      // FLUSH_MS is 50: each round reaches the relay and is written as its own log object.
      await new Promise((res) => setTimeout(res, 300))
    }
    const frag = journal.doc.getXmlFragment('outline')
    const heading = new Y.XmlElement('h1')
    heading.insert(0, [new Y.XmlText('Plan')])
    frag.insert(0, [heading])
    await waitFor(() => r.relay.rooms.get('spaces/s1/journal') !== undefined, 'journal room')
    await new Promise((res) => setTimeout(res, 300))
    await r.stop()
    for (const c of [note, roadmap, tasks, journal]) c.destroy()

    const sourceEnv = s3Env(bucket)
    const before = await statesOf(source)
    expect([...before.keys()].sort()).toEqual(['spaces/s1/journal', 'teams/t7/spaces/roadmap', 'teams/t7/spaces/roadmap/tasks', 'users/u1/notes/a'])
    expect(before.get('users/u1/notes/a')!.json).toEqual({ t: 'e 0\nline 1\nline 2\nline 3\n' })
    expect(before.get('spaces/s1/journal')!.json).toEqual({ t: 'entry 3 entry 2 entry 1 entry 0 ', outline: '<h1>Plan</h1>' })

    // inspect: objects, sizes, writers, content
    const inspected = JSON.parse((await yrelay(sourceEnv, 'inspect', 'teams/t7/spaces/roadmap', '--json')).stdout) as {
      logs: { key: string; size: number; writer: string }[]
      snapshots: unknown[]
      lastWriters: { instanceId: string; objects: number }[]
      content: unknown
    }
    const roadmapRef = refOfName('teams/t7/spaces/roadmap', 'multi')
    expect(inspected.logs.length).toBeGreaterThanOrEqual(4)
    expect(inspected.snapshots).toEqual([])
    expect(inspected.logs.every((l) => l.key.startsWith('teams/t7/docs/spaces/roadmap/~log/') && l.size > 0 && l.writer === instanceId)).toBe(true)
    expect(inspected.lastWriters).toEqual([expect.objectContaining({ instanceId, objects: inspected.logs.length })])
    expect(inspected.content).toEqual(before.get('teams/t7/spaces/roadmap')!.json)
    const text = (await yrelay(sourceEnv, 'inspect', 'teams/t7/spaces/roadmap')).stdout
    expect(text).toContain(`logs       ${inspected.logs.length}`)
    expect(text).toContain(instanceId)
    expect(roadmapRef).toEqual({ scope: 'teams/t7/', path: 'spaces/roadmap' })

    // compact a prefix: one snapshot, no logs, same content
    const compacted = await yrelay(sourceEnv, 'compact', 'teams/t7/')
    expect(compacted.stdout).toMatch(/compacted 2 of 2 document\(s\); \d+ object\(s\) deleted/)
    expect(compacted.stderr).toMatch(/compact \[.*\] 2\/2 documents/)
    for (const name of ['teams/t7/spaces/roadmap', 'teams/t7/spaces/roadmap/tasks']) {
      const objects = await documentObjects(source, name, 'multi')
      expect([objects!.snapshots.length, objects!.logs.length], name).toEqual([1, 0])
    }
    expect((await statesOf(source)).get('teams/t7/spaces/roadmap')!.json).toEqual(before.get('teams/t7/spaces/roadmap')!.json)

    // export everything, import into a bucket that does not exist yet
    const dir = await tempDir()
    const exported = await yrelay(sourceEnv, 'export', '/', dir)
    expect(exported.stdout).toMatch(/exported 4 document\(s\)/)
    expect((await readdir(dir, { recursive: true })).filter((f) => f.endsWith('.bin')).sort()).toEqual([
      'spaces/s1/journal.bin',
      'teams/t7/spaces/roadmap.bin',
      'teams/t7/spaces/roadmap/tasks.bin',
      'users/u1/notes/a.bin',
    ])
    const targetBucket = uniqueBucket()
    const imported = await yrelay(s3Env(targetBucket), 'import', dir)
    expect(imported.stdout).toMatch(/imported 4 document\(s\)/)
    const target = s3Store(targetBucket)
    const after = await statesOf(target)
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort())
    for (const [name, { state, json }] of before) {
      expect(after.get(name)!.json, name).toEqual(json)
      expect(Buffer.from(after.get(name)!.state).equals(Buffer.from(state)), `${name} state bytes`).toBe(true)
    }

    // one document to a file, imported under another scope
    const file = join(dir, 'single', 'a.bin')
    expect((await yrelay(sourceEnv, 'export', 'users/u1/notes/a', file)).stdout).toMatch(/exported users\/u1\/notes\/a to/)
    await yrelay(s3Env(targetBucket), 'import', file, '--prefix', 'users/u9/notes/')
    expect((await statesOf(target)).get('users/u9/notes/a')!.json).toEqual(before.get('users/u1/notes/a')!.json)

    // a relay on the new bucket serves the imported content to an ordinary client
    const served = await startRelay(target, {}, new AccessPolicy({ tenancy: 'multi', key: null }))
    cleanup.defer(() => served.stop())
    const reader = cleanup.client(served.url, 'teams/t7/spaces/roadmap')
    await synced(reader)
    expect({ meta: reader.doc.getMap('meta').toJSON() }).toEqual(before.get('teams/t7/spaces/roadmap')!.json)
  })

  it('refuses bad input with a reason and exit code 1, writing nothing', async () => {
    const env = { DATA_DIR: await tempDir() }
    const missing = await yrelay(env, 'compact', 'users/u1/nothing').catch((e: { code: number; stderr: string }) => e)
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringMatching(/no document named or starting with "users\/u1\/nothing"/) })
    const dir = await tempDir()
    const { writeFile } = await import('node:fs/promises')
    await writeFile(join(dir, 'loose.bin'), Y.encodeStateAsUpdate(new Y.Doc()))
    const badName = await yrelay(env, 'import', dir).catch((e: { code: number; stderr: string }) => e)
    expect(badName).toMatchObject({ code: 1, stderr: expect.stringMatching(/nothing imported:[\s\S]*users\/<id>\//) })
    const { DirectoryStore } = await import('../server/store/directory-store.js')
    expect(await listDocuments(new DirectoryStore(env.DATA_DIR), '', 'multi').next()).toEqual({ done: true, value: undefined })
  })
})
