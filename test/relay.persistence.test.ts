/** What the relay writes: batched logs, saved acknowledgements, compaction, idle unload. */
import { describe, expect, it } from 'vitest'
import { testCleanup } from './support/cleanup.js'
import { WebSocket } from 'ws'
import * as Y from 'yjs'
import { docPrefix } from '../server/docs/layout.js'
import { InstrumentedStore } from '../server/store/instrumented-store.js'
import { listAll, type ListOptions, type ObjectStore, type PutOptions } from '../server/store/object-store.js'
import { encodeSyncUpdate, parseExtensionMessage } from '../shared/protocol.js'
import { sleep, synced, waitFor } from './support/clients.js'
import { startRelay } from './support/relay.js'
import { STORE_KINDS, freshStore, storedText } from './support/stores.js'

/**
 * Waits until storage holds the expected text, however long a loaded machine takes (fixed
 * waits here failed under load): these tests bound the number of writes, not their timing.
 */
async function storedEventually(store: ObjectStore, name: string, expected: string): Promise<void> {
  const deadline = Date.now() + 30_000
  while ((await storedText(store, name)) !== expected) {
    if (Date.now() > deadline) throw new Error(`${name}: the typed text was not stored within 30 s`)
    await sleep(100)
  }
}

const cleanup = testCleanup()
const client = cleanup.client

async function countObjects(store: ObjectStore, name: string, dir: string): Promise<number> {
  let n = 0
  for await (const o of listAll(store, docPrefix({ scope: '', path: name }) + dir)) if (o.key.endsWith('.bin')) n++
  return n
}


/** Delays every put so a flush is still in flight when the test acts. */
class SlowPutStore extends InstrumentedStore {
  constructor(inner: ObjectStore, private readonly delayMs: number) {
    super(inner)
  }
  override async put(key: string, body: Uint8Array, options?: PutOptions): Promise<void> {
    await sleep(this.delayMs)
    return super.put(key, body, options)
  }
}

/** Delays every listing, so a room's load takes a while. */
class SlowListStore extends InstrumentedStore {
  constructor(inner: ObjectStore, private readonly delayMs: number) {
    super(inner)
  }
  override async list(prefix: string, options?: ListOptions) {
    await sleep(this.delayMs)
    return super.list(prefix, options)
  }
}

describe.each(STORE_KINDS)('relay persistence on %s', (kind) => {
  it('1,000 updates typed over ~2 s cost at most a handful of log writes', async () => {
    const store = await freshStore(kind)
    const { url, stop } = await startRelay(store, { FLUSH_MS: 1000 })
    cleanup.defer(stop)
    const a = client(url, 'notes/typing')
    await synced(a)
    const putsBefore = store.counts.put.ok
    for (let i = 0; i < 1000; i++) {
      a.text.insert(a.text.length, String(i % 10))
      if (i % 50 === 49) await sleep(100)
    }
    await storedEventually(store, 'notes/typing', a.text.toString())
    const logs = await countObjects(store, 'notes/typing', '~log/')
    const puts = store.counts.put.ok - putsBefore
    expect(puts).toBeLessThanOrEqual(5)
    expect(logs).toBe(puts)
    expect(await storedText(store, 'notes/typing')).toBe(a.text.toString())
  })

  it('acknowledges with *saved* only once the updates are in storage', async () => {
    const store = await freshStore(kind)
    const { url, stop } = await startRelay(store, { FLUSH_MS: 300 })
    cleanup.defer(stop)
    const ws = new WebSocket(`${url}/notes/saved?ext=1`)
    const saved: number[] = []
    ws.on('message', (d: Buffer) => {
      const ext = d[0] === 100 ? parseExtensionMessage(new Uint8Array(d)) : null
      if (ext?.kind === 'saved') saved.push(ext.count)
    })
    await new Promise((r) => ws.once('open', r))
    const doc = new Y.Doc()
    doc.on('update', (u: Uint8Array) => ws.send(encodeSyncUpdate(u)))
    for (let i = 0; i < 10; i++) doc.getText('t').insert(i, 'x')
    await sleep(100)
    expect(saved).toEqual([])
    await waitFor(() => saved.at(-1) === 10, 'saved 10')
    expect(await storedText(store, 'notes/saved')).toBe('xxxxxxxxxx')
    ws.close()
  })

  it('compacts after many flushes: fewer objects, same content', async () => {
    const store = await freshStore(kind)
    const { url, stop } = await startRelay(store, { FLUSH_MS: 20, COMPACT_LOG_COUNT: 10 })
    cleanup.defer(stop)
    const a = client(url, 'notes/many')
    await synced(a)
    for (let i = 0; i < 40; i++) {
      a.text.insert(a.text.length, `line ${i}\n`)
      if (i % 7 === 0) a.text.delete(0, 3)
      await sleep(40)
    }
    await waitFor(() => store.counts.delete.ok > 0, 'a compaction')
    await storedEventually(store, 'notes/many', a.text.toString())
    const logs = await countObjects(store, 'notes/many', '~log/')
    const snaps = await countObjects(store, 'notes/many', '~snap/')
    expect(snaps).toBeGreaterThanOrEqual(1)
    expect(logs + snaps).toBeLessThan(30)
    expect(await storedText(store, 'notes/many')).toBe(a.text.toString())
  })

  it('unloads idle rooms and reloads them with every edit', async () => {
    const store = await freshStore(kind)
    const { url, relay, stop } = await startRelay(store, { FLUSH_MS: 50 })
    cleanup.defer(stop)
    const a = client(url, 'notes/idle')
    await synced(a)
    a.text.insert(0, 'remember me')
    await sleep(50)
    a.destroy()
    await waitFor(() => relay.rooms.size === 0, 'room unloaded')
    const b = client(url, 'notes/idle')
    await synced(b)
    expect(b.text.toString()).toBe('remember me')
  })
})

describe('a client that leaves while its room is loading', () => {
  it('does not keep the room loaded', async () => {
    const store = new SlowListStore(await freshStore('directory'), 300)
    const { url, relay, stop } = await startRelay(store)
    cleanup.defer(stop)
    const ws = new WebSocket(`${url}/notes/gone`)
    await new Promise((r) => ws.once('open', r))
    expect(relay.rooms.size).toBe(1)
    ws.terminate()
    await sleep(500)
    await waitFor(() => relay.rooms.size === 0, 'room unloaded after its load finished')
  })
})

describe('a client that floods its room before it loads', () => {
  it('is closed with 4529 once MAX_BUFFERED_BYTES is queued, instead of the relay holding it all', async () => {
    const store = new SlowListStore(await freshStore('directory'), 1000)
    const { url, stop } = await startRelay(store, { MAX_BUFFERED_BYTES: 64 * 1024 })
    cleanup.defer(stop)
    const ws = new WebSocket(`${url}/notes/flooded`)
    await new Promise((r) => ws.once('open', r))
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)))
    const doc = new Y.Doc()
    doc.on('update', (u: Uint8Array) => ws.send(encodeSyncUpdate(u)))
    for (let i = 0; i < 10; i++) doc.getText('t').insert(0, 'x'.repeat(16 * 1024))
    expect(await closed).toBe(4529)
  })
})

describe('an edit followed at once by the last client leaving (Hocuspocus #995)', () => {
  // The next joiner arrives before, during or after the unload's flush (puts take 150 ms).
  it.each([0, 50, 120, 250, 600])('is seen by a joiner arriving %i ms later', async (delay) => {
    const inner = await freshStore('directory')
    const store = new SlowPutStore(inner, 150)
    const { url, relay, stop } = await startRelay(store, { FLUSH_MS: 10_000 })
    cleanup.defer(stop)
    const name = `notes/race-${delay}`
    const a = client(url, name)
    await synced(a)
    a.text.insert(0, 'last words')
    a.destroy()
    await sleep(delay)
    const b = client(url, name)
    await synced(b)
    await waitFor(() => b.text.toString() === 'last words', `joiner at ${delay} ms sees the edit`, 5000)
    b.destroy()
    await waitFor(() => relay.rooms.size === 0, 'room unloaded')
    expect(await storedText(inner, name)).toBe('last words')
  })
})
