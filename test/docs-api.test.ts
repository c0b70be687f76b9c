/**
 * Documents over HTTP and tombstones, on both stores: list, read (JSON and binary), apply an
 * update that live clients see, delete (4404 for live and reconnecting replicas, nothing
 * resurrected) and the explicit restore; a delete while the document is still being written.
 */
import { describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import * as Y from 'yjs'
import { AccessPolicy } from '../server/auth/access.js'
import { DocStore } from '../server/docs/doc-store.js'
import { DirectoryStore } from '../server/store/directory-store.js'
import { listAll, type ObjectStore, type PutOptions } from '../server/store/object-store.js'
import { InstrumentedStore } from '../server/store/instrumented-store.js'
import { encodeSyncStep1 } from '../shared/protocol.js'
import { TEST_SECRET, api, tokenFor, until } from './support/api.js'
import { testCleanup } from './support/cleanup.js'
import { sleep, synced, waitFor } from './support/clients.js'
import { startRelay } from './support/relay.js'
import { STORE_KINDS, freshStore, tempDir } from './support/stores.js'

const cleanup = testCleanup()

async function multiTenantRelay(kind: (typeof STORE_KINDS)[number]) {
  const store = await freshStore(kind)
  const r = await startRelay(store, {}, new AccessPolicy({ tenancy: 'multi', key: { kind: 'secret', secret: TEST_SECRET } }))
  cleanup.defer(() => r.stop())
  return { ...r, store }
}

async function keysUnder(store: InstrumentedStore, prefix: string): Promise<string[]> {
  const keys: string[] = []
  for await (const o of listAll(store, prefix)) keys.push(o.key)
  return keys
}

/** Connects a raw socket with a replica's state vector and resolves with its close code. */
function closeCodeOf(url: string): Promise<number> {
  const ws = new WebSocket(url)
  ws.on('error', () => {})
  ws.on('open', () => ws.send(encodeSyncStep1(new Uint8Array([0]))))
  return new Promise((resolve) => ws.once('close', (code) => resolve(code)))
}

describe.each(STORE_KINDS)('documents over HTTP (%s store)', (kind) => {
  it('lists a scope\'s documents, reads one as JSON and as a Yjs update, and refuses what the token does not allow', async () => {
    const r = await multiTenantRelay(kind)
    const editor = await tokenFor({ sub: 'u1', teams: [{ id: 't7', role: 'editor' }] })
    const stranger = await tokenFor({ sub: 'u2' })
    const a = cleanup.client(r.url, 'teams/t7/spaces/roadmap', { params: { token: editor } })
    const b = cleanup.client(r.url, 'teams/t7/notes/n1', { params: { token: editor } })
    await Promise.all([synced(a), synced(b)])
    a.text.insert(0, 'ship it')
    a.doc.getMap('meta').set('owner', 'u1')
    a.doc.getArray('tags').push(['q3'])
    b.text.insert(0, 'note')
    const list = await until(() => api(r.port, '/v1/docs?scope=teams/t7/', { token: editor }), (a) => a.body.items?.length === 2, 'both documents stored')
    expect(list.status).toBe(200)
    expect(list.body.items.map((i: { name: string }) => i.name)).toEqual(['teams/t7/notes/n1', 'teams/t7/spaces/roadmap'])
    for (const item of list.body.items) {
      expect(item.size).toBeGreaterThan(0)
      expect(Date.parse(item.updatedAt)).toBeGreaterThan(Date.now() - 60_000)
    }
    const page1 = await api(r.port, '/v1/docs?scope=teams/t7/&limit=1', { token: editor })
    expect(page1.body.items.map((i: { path: string }) => i.path)).toEqual(['notes/n1'])
    const page2 = await api(r.port, `/v1/docs?scope=teams/t7/&limit=1&cursor=${encodeURIComponent(page1.body.cursor)}`, { token: editor })
    expect(page2.body.items.map((i: { path: string }) => i.path)).toEqual(['spaces/roadmap'])
    expect(page2.body.cursor).toBeUndefined()

    const json = await api(r.port, '/v1/docs/teams/t7/spaces/roadmap', { token: editor })
    expect(json.status).toBe(200)
    expect(json.body.content).toEqual({ t: 'ship it', meta: { owner: 'u1' }, tags: ['q3'] })
    const binary = await api(r.port, '/v1/docs/teams/t7/spaces/roadmap?format=update', { token: editor })
    const copy = new Y.Doc()
    Y.applyUpdate(copy, binary.bytes)
    expect(copy.getText('t').toString()).toBe('ship it')

    expect((await api(r.port, '/v1/docs/teams/t7/spaces/roadmap')).status).toBe(401)
    expect((await api(r.port, '/v1/docs/teams/t7/spaces/roadmap', { token: 'garbage' })).body.error.code).toBe('unauthorized')
    const other = await api(r.port, '/v1/docs/teams/t7/spaces/roadmap', { token: stranger })
    expect(other.status).toBe(403)
    expect(other.body.error.code).toBe('forbidden')
    expect((await api(r.port, '/v1/docs?scope=teams/t7/', { token: stranger })).status).toBe(403)
    const badName = await api(r.port, '/v1/docs/teams/t7/..%2f..', { token: editor })
    expect(badName.status).toBe(400)
    expect(badName.body.error.code).toBe('bad_doc_name')
    const badQuery = await api(r.port, '/v1/docs?scope=teams/t7/&limit=0', { token: editor })
    expect(badQuery.status).toBe(400)
    expect(badQuery.body.error.message).toMatch(/^limit: /)
    expect((await api(r.port, '/v1/docs/teams/t7/never-written', { token: editor })).status).toBe(404)
  })

  it('applies a server\'s update: live clients see it at once, it is stored, and a viewer may not', async () => {
    const r = await multiTenantRelay(kind)
    const editor = await tokenFor({ sub: 'u1', teams: [{ id: 't7', role: 'editor' }] })
    const viewer = await tokenFor({ sub: 'u3', teams: [{ id: 't7', role: 'viewer' }] })
    const live = cleanup.client(r.url, 'teams/t7/board', { params: { token: editor } })
    await synced(live)
    const server = new Y.Doc()
    server.getText('t').insert(0, 'from the backend')
    const update = Y.encodeStateAsUpdate(server)

    const puts = r.store.counts.put.ok
    const refused = await api(r.port, '/v1/docs/teams/t7/board/update', { token: viewer, body: update })
    expect(refused.status).toBe(403)
    expect(r.store.counts.put.ok).toBe(puts)
    expect(live.text.toString()).toBe('')
    expect((await api(r.port, '/v1/docs/teams/t7/board/update', { token: editor, body: new Uint8Array([1, 2, 3]) })).status).toBe(400)

    const applied = await api(r.port, '/v1/docs/teams/t7/board/update', { token: editor, body: update })
    expect(applied.status).toBe(200)
    await waitFor(() => live.text.toString() === 'from the backend', 'live client sees the server update')
    // Answered only once durable: a fresh load from storage has it.
    const loaded = await new DocStore(r.store, { instanceId: 'chk1', snapshotRetention: 2 }).load({ scope: 'teams/t7/', path: 'board' })
    const fresh = new Y.Doc()
    Y.applyUpdate(fresh, loaded.update)
    expect(fresh.getText('t').toString()).toBe('from the backend')

    // With nobody connected, the update loads the room, is stored, and the room unloads again.
    const quiet = new Y.Doc()
    quiet.getMap('m').set('k', 1)
    expect((await api(r.port, '/v1/docs/teams/t7/quiet/update', { token: editor, body: Y.encodeStateAsUpdate(quiet) })).status).toBe(200)
    expect((await api(r.port, '/v1/docs/teams/t7/quiet', { token: editor })).body.content).toEqual({ m: { k: 1 } })
    await waitFor(() => r.relay.rooms.get('teams/t7/quiet') === undefined, 'room unloads after the request')
  })

  it('delete leaves a tombstone: live sockets close with 4404, an offline replica cannot resurrect it, restore is explicit', async () => {
    const r = await multiTenantRelay(kind)
    const token = await tokenFor({ sub: 'u1', teams: [{ id: 't7', role: 'editor' }] })
    const name = 'teams/t7/spaces/old'
    const live = cleanup.client(r.url, name, { params: { token } })
    const offline = cleanup.client(r.url, name, { params: { token } })
    await Promise.all([synced(live), synced(offline)])
    live.text.insert(0, 'doomed')
    await waitFor(() => offline.text.toString() === 'doomed', 'replica has the content')
    offline.provider.disconnect()
    offline.text.insert(0, 'offline edit ')
    await waitFor(() => r.relay.rooms.get(name) !== undefined && r.store.counts.put.ok > 0, 'flushed')

    const closes: number[] = []
    live.provider.on('connection-close', (event: CloseEvent | null) => event && closes.push(event.code))
    const deleted = await api(r.port, `/v1/docs/${name}`, { method: 'DELETE', token })
    expect(deleted.status).toBe(200)
    expect(deleted.body).toMatchObject({ name, deletedBy: 'u1' })
    await waitFor(() => closes.includes(4404), 'live client closed with 4404')
    live.provider.disconnect()

    // The offline replica reconnects with its copy and its edit: refused, nothing written.
    const offlineCloses: number[] = []
    offline.provider.on('connection-close', (event: CloseEvent | null) => event && offlineCloses.push(event.code))
    offline.provider.connect()
    await waitFor(() => offlineCloses.includes(4404), 'reconnecting replica closed with 4404')
    offline.provider.disconnect()
    expect(await closeCodeOf(`${r.url}/${name}?token=${token}`)).toBe(4404)
    expect(await keysUnder(r.store, 'teams/t7/docs/')).toEqual([])
    expect(await keysUnder(r.store, 'teams/t7/tombstones/')).toEqual(['teams/t7/tombstones/docs/spaces/old.json'])

    const read = await api(r.port, `/v1/docs/${name}`, { token })
    expect(read.status).toBe(404)
    expect(read.body.error).toMatchObject({ code: 'doc_deleted', deletedBy: 'u1', deletedAt: deleted.body.deletedAt })
    const server = new Y.Doc()
    server.getText('t').insert(0, 'zombie')
    expect((await api(r.port, `/v1/docs/${name}/update`, { token, body: Y.encodeStateAsUpdate(server) })).body.error.code).toBe('doc_deleted')
    expect((await api(r.port, `/v1/docs/${name}`, { method: 'DELETE', token })).status).toBe(404)
    expect(await keysUnder(r.store, 'teams/t7/docs/')).toEqual([])

    expect((await api(r.port, `/v1/docs/${name}/restore`, { method: 'POST', token })).status).toBe(200)
    const again = cleanup.client(r.url, name, { params: { token } })
    await synced(again)
    expect(again.text.toString()).toBe('')
    again.text.insert(0, 'fresh start')
    await until(() => api(r.port, `/v1/docs/${name}`, { token }), (a) => a.body.content?.t === 'fresh start', 'restored document written')
    expect(await keysUnder(r.store, 'teams/t7/tombstones/')).toEqual([])
  })
})

/** Delays the puts of keys containing `part`, so a write is still under way while a test acts. */
class SlowPutStore extends InstrumentedStore {
  inFlight = 0
  constructor(
    inner: ObjectStore,
    private readonly part: string,
    private readonly delayMs: number,
  ) {
    super(inner)
  }
  override async put(key: string, body: Uint8Array, options?: PutOptions): Promise<void> {
    if (!key.includes(this.part)) return super.put(key, body, options)
    this.inFlight++
    try {
      await sleep(this.delayMs)
      return await super.put(key, body, options)
    } finally {
      this.inFlight--
    }
  }
}

async function slowRelay(part: string, config: Parameters<typeof startRelay>[1] = {}) {
  const store = new SlowPutStore(new DirectoryStore(await tempDir()), part, 3000)
  await store.init()
  const r = await startRelay(store, config)
  cleanup.defer(() => r.stop())
  return { ...r, store }
}

describe('a delete while the document is still being written', () => {
  it('refuses with 4404 a client that connects before the last log write ends, and removes that log', async () => {
    const r = await slowRelay('/~log/')
    const name = 'notes/doomed'
    const a = cleanup.client(r.url, name)
    await synced(a)
    const closes: number[] = []
    a.provider.on('connection-close', (event: CloseEvent | null) => event && closes.push(event.code))
    a.text.insert(0, 'last words')
    await waitFor(() => r.store.inFlight > 0, 'a log write under way')
    const deleting = api(r.port, `/v1/docs/${name}`, { method: 'DELETE' })
    await waitFor(() => closes.includes(4404), 'the connected client closed with 4404')
    // The room waits for its write before it unloads: the next client joins that same room.
    const deletingRoom = r.relay.rooms.get(name)
    expect(deletingRoom?.state).toBe('deleted')
    const b = cleanup.client(r.url, name, { doc: new Y.Doc() })
    const bCloses: number[] = []
    let bSynced = false
    b.provider.on('connection-close', (event: CloseEvent | null) => event && bCloses.push(event.code))
    b.provider.on('sync', (isSynced: boolean) => (bSynced ||= isSynced))
    await waitFor(() => bCloses.includes(4404), 'the client that joined the deleted room closed with 4404')
    expect(bSynced).toBe(false)
    expect(r.relay.rooms.get(name)).toBe(deletingRoom)
    expect((await deleting).status).toBe(200)
    expect(await keysUnder(r.store, 'docs/')).toEqual([])
  })

  it('waits for a compaction that outlived the last client, so its snapshot goes too', async () => {
    const r = await slowRelay('/~snap/', { COMPACT_LOG_COUNT: 2, FLUSH_MS: 50 })
    const name = 'notes/compacting'
    const a = cleanup.client(r.url, name)
    await synced(a)
    a.text.insert(0, 'one')
    await waitFor(async () => (await keysUnder(r.store, 'docs/')).length === 1, 'first log written')
    a.text.insert(0, 'two ')
    await waitFor(() => r.store.inFlight > 0, 'a snapshot write under way')
    a.destroy()
    // Without a client the room is idle, all but for the compaction.
    await waitFor(() => (r.relay.rooms.get(name)?.peers.size ?? 0) === 0, 'the client left')
    expect((await api(r.port, `/v1/docs/${name}`, { method: 'DELETE' })).status).toBe(200)
    await waitFor(() => r.store.inFlight === 0, 'the snapshot write ended')
    expect(await keysUnder(r.store, 'docs/')).toEqual([])
  })
})
