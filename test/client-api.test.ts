/**
 * The SDK's parts that use the relay's HTTP API, against real relays: blob uploads (on radosgw's
 * presigned URLs and on the directory store's relay-signed ones), the change feed, and a
 * document deleted while a client holds it open.
 */
import { randomBytes, createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { AccessPolicy } from '../server/auth/access.js'
import { mintToken } from '../server/auth/mint-token.js'
import { SignJWT } from 'jose'
import { MemoryReplicas, createClient, type ChangeEvent, type ClientOptions, type SyncClient } from '../client/node.js'
import { testCleanup } from './support/cleanup.js'
import { sleep, waitFor } from './support/clients.js'
import { startRelay } from './support/relay.js'
import { STORE_KINDS, freshStore, type StoreKind } from './support/stores.js'

const cleanup = testCleanup()
const SECRET = 'a-client-api-test-secret-long-enough-1234'

function sdk(options: ClientOptions): SyncClient {
  const sync = createClient({ backoff: { initialMs: 50, maxMs: 400 }, ...options })
  cleanup.defer(() => sync.destroy())
  return sync
}

async function relay(kind: StoreKind = 'directory') {
  const store = await freshStore(kind)
  const r = await startRelay(store, {}, new AccessPolicy({ tenancy: 'multi', key: { kind: 'secret', secret: SECRET } }))
  cleanup.defer(() => r.stop())
  return { ...r, store, http: `http://127.0.0.1:${r.port}` }
}

const tokenFor = (sub: string) => () => mintToken({ secret: SECRET, sub, expiresInSeconds: 3600 })

describe.each(STORE_KINDS)('client SDK blobs on the %s store', (kind) => {
  it('uploads with progress, downloads the same bytes, and skips bytes the relay already has', async () => {
    const r = await relay(kind)
    const sync = sdk({ url: r.url, token: tokenFor('u1') })
    const bytes = new Uint8Array(randomBytes(300 * 1024))
    const progress: number[] = []
    const uploaded = await sync.blobs.upload(bytes, { scope: 'users/u1/', contentType: 'application/x-test', onProgress: (p) => progress.push(p.loaded) })
    const sha256 = createHash('sha256').update(bytes).digest('hex')
    expect(uploaded).toMatchObject({ key: `users/u1/blobs/${sha256}`, size: bytes.byteLength, sha256, existed: false })
    // 64 KB writes: progress rises in steps from 0 to the whole size.
    expect(progress[0]).toBe(0)
    expect(progress.at(-1)).toBe(bytes.byteLength)
    expect(progress.filter((n) => n > 0 && n < bytes.byteLength).length).toBeGreaterThanOrEqual(3)
    expect(progress).toEqual([...progress].sort((a, b) => a - b))

    const url = await sync.blobs.downloadUrl(uploaded.key)
    const res = await fetch(url)
    expect(res.status).toBe(200)
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(bytes))).toBe(true)

    const again = await sync.blobs.upload(bytes, { scope: 'users/u1/', contentType: 'application/x-test' })
    expect(again).toMatchObject({ key: uploaded.key, existed: true })
  })
})

describe('client SDK blobs: refusals', () => {
  it('a blob in another user’s scope is refused with the relay’s code', async () => {
    const r = await relay()
    const sync = sdk({ url: r.url, token: tokenFor('u1') })
    await expect(sync.blobs.upload(new Uint8Array([1, 2, 3]), { scope: 'users/u2/' })).rejects.toMatchObject({ code: 'forbidden', status: 403 })
  })
})

describe('client SDK: quota refusals', () => {
  it('an update over the plan’s document size is an error status; the text stays local and unsaved', async () => {
    const r = await relay()
    const limited = () =>
      new SignJWT({ sub: 'u1', limits: { 'users/u1/': { documentBytes: 200 } } })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode(SECRET))
    const space = sdk({ url: r.url, token: limited }).open('users/u1/big')
    await space.whenSynced
    await space.whenSaved()
    space.doc.getText('t').insert(0, 'x'.repeat(1000))
    await expect(space.whenSaved()).rejects.toMatchObject({ code: 'quota_exceeded' })
    expect(space.status).toMatchObject({ connection: 'online', saved: false, error: { code: 'quota_exceeded' } })
    expect(space.status.error?.message).toMatch(/too large|limit/)
    expect(space.doc.getText('t').length).toBe(1000)
  })
})

describe('client SDK change feed', () => {
  it('delivers doc.changed for an edit and doc.deleted for a deletion in the token’s scopes', async () => {
    const r = await relay()
    const sync = sdk({ url: r.url, token: tokenFor('u1') })
    const events: ChangeEvent[] = []
    const unsubscribe = sync.events.subscribe((e) => events.push(e))
    cleanup.defer(unsubscribe)
    await sleep(300)
    const space = sync.open('users/u1/feed')
    space.doc.getText('t').insert(0, 'hello')
    await space.whenSaved()
    await waitFor(() => events.some((e) => e.type === 'doc.changed' && e.data.name === 'users/u1/feed'), 'doc.changed event')
    const res = await sync.http.request('/v1/docs/users/u1/feed', { method: 'DELETE' })
    expect(res.status).toBe(200)
    await waitFor(() => events.some((e) => e.type === 'doc.deleted' && e.data.name === 'users/u1/feed'), 'doc.deleted event')
    expect(events.every((e) => e.id !== null)).toBe(true)
  })
})

describe('client SDK: a document deleted while open', () => {
  it('clears the replica, reports when and by whom, stops, and never uploads it again', async () => {
    const r = await relay()
    const replicas = new MemoryReplicas()
    const sync = sdk({ url: r.url, token: tokenFor('u1'), replicas: replicas.factory })
    const space = sync.open('users/u1/doomed')
    space.doc.getText('t').insert(0, 'soon gone')
    await space.whenSaved()
    expect(replicas.stored('users/u1/doomed')).toBeDefined()
    const deletedEvent = new Promise((resolve) => space.on('deleted', resolve))

    const admin = sdk({ url: r.url, token: tokenFor('u1') })
    const answer = await admin.http.json<{ deletedAt: string; deletedBy: string }>('DELETE', '/v1/docs/users/u1/doomed')
    expect(answer.deletedBy).toBe('u1')

    expect(await deletedEvent).toEqual({ deletedAt: answer.deletedAt, deletedBy: 'u1' })
    expect(space.status).toMatchObject({ connection: 'offline', deleted: { deletedAt: answer.deletedAt, deletedBy: 'u1' }, error: { code: 'doc_deleted' } })
    expect(replicas.stored('users/u1/doomed')).toBeUndefined()
    await expect(space.whenSaved()).rejects.toMatchObject({ code: 'doc_deleted' })

    // Edits after the deletion stay local: nothing reaches the relay, nothing is stored.
    space.doc.getText('t').insert(0, 'resurrect? ')
    await sleep(500)
    await expect(admin.http.request('/v1/docs/users/u1/doomed')).rejects.toMatchObject({ code: 'doc_deleted', status: 404 })
    expect(replicas.stored('users/u1/doomed')).toBeUndefined()

    // A device that still holds the document offline is refused too, and forgets it.
    const stale = new MemoryReplicas()
    const offline = sdk({ url: 'ws://127.0.0.1:1', replicas: stale.factory }).open('users/u1/doomed')
    offline.doc.getText('t').insert(0, 'offline copy')
    await offline.close()
    const device = sdk({ url: r.url, token: tokenFor('u1'), replicas: stale.factory }).open('users/u1/doomed')
    await new Promise((resolve) => device.on('deleted', resolve))
    expect(stale.stored('users/u1/doomed')).toBeUndefined()
    await expect(admin.http.request('/v1/docs/users/u1/doomed')).rejects.toMatchObject({ code: 'doc_deleted' })
  })
})
