/**
 * `yrelay gc` as a process on radosgw and on the directory store: it deletes exactly the
 * orphaned blobs, tombstoned leftovers, stale change markers, probes and temporary files, keeps
 * everything a document references (across scopes) or that is younger than --min-age, and a
 * dry run changes nothing.
 */
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { contentJson } from '../server/docs/content-json.js'
import { DocStore } from '../server/docs/doc-store.js'
import { DirectoryStore } from '../server/store/directory-store.js'
import { listAll, type ObjectStore } from '../server/store/object-store.js'
import { ROOT } from './support/relay.js'
import { s3Env, s3Store, STORE_KINDS, tempDir, uniqueBucket, type StoreKind } from './support/stores.js'

const run = promisify(execFile)
type Run = { code: number; stdout: string; stderr: string }

async function yrelay(env: Record<string, string>, ...args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'server/cli.ts', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', TENANCY: 'multi', ...env },
    })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

async function openStore(kind: StoreKind): Promise<{ store: ObjectStore; env: Record<string, string>; dir?: string }> {
  if (kind === 's3') {
    const bucket = uniqueBucket()
    const store = s3Store(bucket)
    await store.init()
    return { store, env: s3Env(bucket) }
  }
  const dir = await tempDir()
  const store = new DirectoryStore(dir)
  await store.init()
  return { store, env: { DATA_DIR: dir }, dir }
}

const hash = (label: string) => createHash('sha256').update(label).digest('hex')

async function keys(store: ObjectStore): Promise<string[]> {
  const out: string[] = []
  for await (const o of listAll(store, '')) out.push(o.key)
  return out
}

async function contents(store: ObjectStore, names: [string, string][]): Promise<unknown[]> {
  const docs = new DocStore(store, { instanceId: 'check', snapshotRetention: 2 })
  return Promise.all(names.map(async ([scope, path]) => contentJson((await docs.load({ scope, path })).update)))
}

/** A store holding documents that reference some blobs, and garbage of every kind gc removes. */
async function seed(store: ObjectStore) {
  const docs = new DocStore(store, { instanceId: 'seed', snapshotRetention: 2 })
  const [used, usedElsewhere, orphan, teamOrphan, tombstoned] = ['used', 'elsewhere', 'orphan', 'team-orphan', 'tombstoned'].map(hash) as [string, string, string, string, string]
  const note = new Y.Doc()
  note.getMap('attachments').set('photo', { key: `users/u1/blobs/${used}`, name: 'photo.png' })
  await docs.appendLog({ scope: 'users/u1/', path: 'notes/a' }, Y.encodeStateAsUpdate(note))
  // A team document pointing at a user's blob by bare hash: references count across scopes.
  const plan = new Y.Doc()
  plan.getText('t').insert(0, `see ${usedElsewhere} for the sketch`)
  await docs.appendLog({ scope: 'teams/t1/', path: 'plans/q1' }, Y.encodeStateAsUpdate(plan))
  await docs.compact({ scope: 'teams/t1/', path: 'plans/q1' })
  for (const [key, size] of [
    [`users/u1/blobs/${used}`, 300],
    [`users/u1/blobs/${usedElsewhere}`, 200],
    [`users/u1/blobs/${orphan}`, 1000],
    [`teams/t1/blobs/${teamOrphan}`, 2000],
    [`users/u1/blobs/${tombstoned}`, 50],
  ] as const) {
    await store.put(key, new Uint8Array(size))
  }
  const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v))
  await store.put(`users/u1/tombstones/blobs/${tombstoned}.json`, json({ deletedAt: new Date().toISOString(), deletedBy: 'u1' }))
  await store.put('users/u1/tombstones/docs/old.json', json({ deletedAt: new Date().toISOString(), deletedBy: 'u1' }))
  await store.put('users/u1/.yrelay/changed/notes/a/~marker', new Uint8Array(1))
  await store.put('users/u1/.yrelay/changed/old/~marker', new Uint8Array(1))
  await store.put('.yrelay/probe/0123456789abcdef', new Uint8Array(1))
  await store.put('.yrelay/url-signing-key', new Uint8Array(32))
  return {
    garbage: [`users/u1/blobs/${orphan}`, `teams/t1/blobs/${teamOrphan}`, `users/u1/blobs/${tombstoned}`, 'users/u1/.yrelay/changed/old/~marker', '.yrelay/probe/0123456789abcdef'],
    docs: [
      ['users/u1/', 'notes/a'],
      ['teams/t1/', 'plans/q1'],
    ] as [string, string][],
    tombstoned,
  }
}

describe('admin CLI: gc', () => {
  for (const kind of STORE_KINDS) {
    it(`deletes exactly what nothing references, after a dry run that deletes nothing (${kind})`, async () => {
      const { store, env } = await openStore(kind)
      const seeded = await seed(store)
      const before = await keys(store)
      const content = await contents(store, seeded.docs)

      const dry = await yrelay(env, 'gc', '--min-age', '0s', '--dry-run')
      expect(dry.code, dry.stderr).toBe(0)
      const listed = dry.stdout.split('\n').filter((l) => l.startsWith('would delete ')).map((l) => l.split(' ')[2])
      expect(listed.sort()).toEqual([...seeded.garbage].sort())
      expect(dry.stdout).toContain(`would delete users/u1/blobs/${seeded.tombstoned} (50 B): blob deleted with a tombstone but still stored`)
      expect(dry.stdout).toContain('2 document(s) read, 5 blob(s) checked; would delete 5 object(s), 3.0 KiB (dry run: nothing deleted)')
      expect(await keys(store)).toEqual(before)

      const real = await yrelay(env, 'gc', '--min-age', '0s')
      expect(real.code, real.stderr).toBe(0)
      expect(real.stdout).toContain('deleted 5 object(s), 3.0 KiB')
      expect(await keys(store)).toEqual(before.filter((k) => !seeded.garbage.includes(k)))
      expect(await contents(store, seeded.docs)).toEqual(content)

      // Unreferenced but newer than --min-age (the default is 7 days): reported, kept.
      const fresh = `users/u1/blobs/${hash('just uploaded')}`
      await store.put(fresh, new Uint8Array(10))
      const young = await yrelay(env, 'gc')
      expect(young.code, young.stderr).toBe(0)
      expect(young.stdout).toContain('deleted 0 object(s), 0 B; 1 unused object(s) younger than --min-age kept')
      expect(await keys(store)).toContain(fresh)
      await store.close()
    })
  }

  it('goes by age on the directory store: old orphans and temporary files of crashed writes go, recent ones stay', async () => {
    const { store, env, dir } = await openStore('directory')
    const old = new Date(Date.now() - 8 * 24 * 3600 * 1000)
    const oldOrphan = `blobs/${hash('old')}`
    const newOrphan = `blobs/${hash('new')}`
    await store.put(`users/u1/${oldOrphan}`, new Uint8Array(5))
    await store.put(`users/u1/${newOrphan}`, new Uint8Array(5))
    await utimes(join(dir!, 'users/u1', oldOrphan), old, old)
    const oldTemp = join(dir!, 'users/u1/blobs', `${hash('old')} tmp-aaaaaaaaaaaa`)
    const newTemp = join(dir!, 'users/u1/blobs', `${hash('new')} tmp-bbbbbbbbbbbb`)
    await writeFile(oldTemp, new Uint8Array(7))
    await writeFile(newTemp, new Uint8Array(7))
    await utimes(oldTemp, old, old)

    const res = await yrelay(env, 'gc')
    expect(res.code, res.stderr).toBe(0)
    expect(res.stdout).toContain(`deleted users/u1/${oldOrphan} (5 B): orphaned blob: no document mentions it`)
    expect(res.stdout).toContain(`deleted ${oldTemp} (7 B): temporary file of an interrupted write`)
    expect(res.stdout).toContain('deleted 2 object(s), 12 B; 1 unused object(s) younger than --min-age kept')
    expect(await keys(store)).toEqual([`users/u1/${newOrphan}`])
    expect((await new DirectoryStore(dir!).strayTemporaryFiles(new Date())).map((s) => s.file)).toEqual([newTemp])
  })

  it('deletes nothing when a document cannot be read, and refuses a bad --min-age', async () => {
    const { store, env } = await openStore('directory')
    const orphan = `users/u1/blobs/${hash('orphan')}`
    await store.put(orphan, new Uint8Array(5))
    await store.put('users/u1/docs/notes/broken/~log/0001.bin', new Uint8Array([0xff, 0xff, 0xff, 0x07]))
    const before = await keys(store)
    const res = await yrelay(env, 'gc', '--min-age', '0s')
    expect(res.code).toBe(1)
    expect(res.stderr).toMatch(/could not read document users\/u1\/notes\/broken .*nothing was deleted/)
    expect(await keys(store)).toEqual(before)

    const bad = await yrelay(env, 'gc', '--min-age', 'a week')
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('--min-age: "a week" is not a duration; write a whole number and a unit, e.g. 7d, 12h, 30m or 0s')
  })
})
