/**
 * One contract, two stores: the S3 store on radosgw and the directory store behave alike, and so
 * does the S3 store behind its storage thread (errors keep their codes across the thread).
 */
import { describe, expect, it } from 'vitest'
import { ErrorCode, isYrelayError } from '../shared/errors.js'
import { listAll } from '../server/store/object-store.js'
import { CONTRACT_KINDS, freshStore } from './support/stores.js'

const bytes = (s: string) => new TextEncoder().encode(s)
const text = (b: Uint8Array | null) => (b ? new TextDecoder().decode(b) : null)

async function collect(store: Awaited<ReturnType<typeof freshStore>>, prefix: string): Promise<string[]> {
  const keys: string[] = []
  for await (const o of listAll(store, prefix)) keys.push(o.key)
  return keys
}

describe.each(CONTRACT_KINDS)('object store contract: %s', (kind) => {
  it('puts, gets, heads and overwrites objects', async () => {
    const store = await freshStore(kind)
    expect(await store.get('docs/a/~log/1.bin')).toBeNull()
    expect(await store.head('docs/a/~log/1.bin')).toBeNull()
    await store.put('docs/a/~log/1.bin', bytes('one'))
    expect(text(await store.get('docs/a/~log/1.bin'))).toBe('one')
    const head = await store.head('docs/a/~log/1.bin')
    expect(head).toMatchObject({ key: 'docs/a/~log/1.bin', size: 3 })
    await new Promise((r) => setTimeout(r, 10))
    await store.put('docs/a/~log/1.bin', bytes('uno!'))
    expect(text(await store.get('docs/a/~log/1.bin'))).toBe('uno!')
    const head2 = await store.head('docs/a/~log/1.bin')
    expect(head2?.size).toBe(4)
    expect(head2?.etag).not.toBe(head?.etag)
    await store.put('empty', new Uint8Array(0))
    expect(await store.get('empty')).toEqual(new Uint8Array(0))
  })

  it('refuses a create-only put when the object exists, and exactly one of ten racers wins', async () => {
    const store = await freshStore(kind)
    await store.put('k/once', bytes('a'), { ifNoneMatch: true })
    const err = await store.put('k/once', bytes('b'), { ifNoneMatch: true }).catch((e: unknown) => e)
    expect(isYrelayError(err, ErrorCode.STORE_PRECONDITION_FAILED)).toBe(true)
    expect(text(await store.get('k/once'))).toBe('a')
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => store.put('k/race', bytes(String(i)), { ifNoneMatch: true })))
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    for (const r of results) if (r.status === 'rejected') expect(isYrelayError(r.reason, ErrorCode.STORE_PRECONDITION_FAILED)).toBe(true)
  })

  it('lists by prefix in key order, including partial-segment prefixes, with cursor pagination', async () => {
    const store = await freshStore(kind)
    const keys = ['docs/notes/a/~log/2.bin', 'docs/notes/a/~log/1.bin', 'docs/notes/a/b/~log/1.bin', 'docs/notes-x/~log/1.bin', 'docs/other/x.bin', 'blobs/abc']
    await Promise.all(keys.map((k) => store.put(k, bytes(k))))
    expect(await collect(store, 'docs/notes/a/~log/')).toEqual(['docs/notes/a/~log/1.bin', 'docs/notes/a/~log/2.bin'])
    expect(await collect(store, 'docs/notes')).toEqual([
      'docs/notes-x/~log/1.bin',
      'docs/notes/a/b/~log/1.bin',
      'docs/notes/a/~log/1.bin',
      'docs/notes/a/~log/2.bin',
    ])
    expect(await collect(store, 'nothing/')).toEqual([])
    const all = await collect(store, '')
    expect(all).toEqual([...keys].sort())
    const page1 = await store.list('docs/', { limit: 2 })
    expect(page1.items.map((i) => i.key)).toEqual(all.filter((k) => k.startsWith('docs/')).slice(0, 2))
    expect(page1.cursor).toBeDefined()
    const page2 = await store.list('docs/', { limit: 2, cursor: page1.cursor })
    expect(page2.items.map((i) => i.key)).toEqual(all.filter((k) => k.startsWith('docs/')).slice(2, 4))
    const last = await store.list('docs/', { limit: 10, cursor: page2.cursor })
    expect(last.items).toHaveLength(1)
    expect(last.cursor).toBeUndefined()
    expect(page1.items[0]!.size).toBe(page1.items[0]!.key.length)
  })

  it('deletes in batches beyond 1,000 keys and ignores missing keys', async () => {
    const store = await freshStore(kind)
    const keys = Array.from({ length: 1010 }, (_, i) => `bulk/${String(i).padStart(5, '0')}`)
    for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((k) => store.put(k, bytes('x'))))
    await store.put('keep/me', bytes('k'))
    expect(await collect(store, 'bulk/')).toHaveLength(1010)
    await store.delete([...keys, 'bulk/missing'])
    expect(await collect(store, 'bulk/')).toEqual([])
    expect(text(await store.get('keep/me'))).toBe('k')
  })

  it('refuses keys that could escape or confuse the layout, before any request', async () => {
    const store = await freshStore(kind)
    const before = store.total('put') + store.total('get')
    for (const key of ['', '../x', 'a/../../x', 'a//b', '/abs', 'a/./b', 'sp ace', 'back\\slash', 'nul\0', 'é', 'x'.repeat(1025)]) {
      await expect(store.put(key, bytes('x')), JSON.stringify(key)).rejects.toSatisfy((e) => isYrelayError(e, ErrorCode.STORE_BAD_KEY))
      await expect(store.get(key)).rejects.toSatisfy((e) => isYrelayError(e, ErrorCode.STORE_BAD_KEY))
    }
    expect(store.total('put') + store.total('get')).toBe(before + 22)
    expect(store.counts.put.ok + store.counts.get.ok).toBe(0)
  })

  it('answers ping and reports what it supports', async () => {
    const store = await freshStore(kind)
    await store.ping()
    const caps = await store.init()
    expect(caps.kind).toBe(kind === 'directory' ? 'directory' : 's3')
    expect(caps.conditionalWrites).toBe(true)
  })
})
