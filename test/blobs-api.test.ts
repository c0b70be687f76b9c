/**
 * Blobs through signed URLs, on radosgw (which checks signatures, expiry and signed lengths
 * itself) and on the directory store (where the relay signs and checks its own URLs).
 */
import { createHash, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { AccessPolicy } from '../server/auth/access.js'
import { listAll } from '../server/store/object-store.js'
import type { InstrumentedStore } from '../server/store/instrumented-store.js'
import { TEST_SECRET, api, tokenFor } from './support/api.js'
import { testCleanup } from './support/cleanup.js'
import { sleep } from './support/clients.js'
import { startRelay, type TEST_RELAY_CONFIG } from './support/relay.js'
import { STORE_KINDS, freshStore } from './support/stores.js'

const cleanup = testCleanup()
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

async function relay(kind: (typeof STORE_KINDS)[number], config: Partial<typeof TEST_RELAY_CONFIG> = {}) {
  const store = await freshStore(kind)
  const r = await startRelay(store, config, new AccessPolicy({ tenancy: 'multi', key: { kind: 'secret', secret: TEST_SECRET } }))
  cleanup.defer(() => r.stop())
  return { ...r, store }
}

async function count(store: InstrumentedStore, prefix: string): Promise<number> {
  let n = 0
  for await (const o of listAll(store, prefix)) if (o.key) n++
  return n
}

const put = (url: string, body: Uint8Array, contentType: string) =>
  fetch(url, { method: 'PUT', body: Buffer.from(body), headers: { 'content-type': contentType } }).then(
    (res) => res.status,
    () => 'connection closed' as const,
  )

describe.each(STORE_KINDS)('blobs (%s store)', (kind) => {
  it('uploads 5 MiB through a presigned URL with plain fetch and downloads it back identical', async () => {
    const r = await relay(kind)
    const token = await tokenFor({ sub: 'u1', teams: [{ id: 't7', role: 'editor' }] })
    const bytes = randomBytes(5 * 1024 * 1024)
    const spec = { scope: 'teams/t7/', size: bytes.byteLength, contentType: 'application/pdf', sha256: sha256(bytes) }
    const signed = await api(r.port, '/v1/blobs/upload-url', { token, json: spec })
    expect(signed.status).toBe(200)
    expect(signed.body).toMatchObject({ key: `teams/t7/blobs/${spec.sha256}`, method: 'PUT', exists: false })
    expect(await put(signed.body.url, bytes, 'application/pdf')).toBe(200)
    const done = await api(r.port, '/v1/blobs/complete', { token, json: { key: signed.body.key } })
    expect(done.body).toEqual({ key: signed.body.key, size: bytes.byteLength })

    const stat = await api(r.port, `/v1/blobs/stat?key=${signed.body.key}`, { token })
    expect(stat.body).toMatchObject({ key: signed.body.key, size: bytes.byteLength })
    const link = await api(r.port, '/v1/blobs/download-url', { token, json: { key: signed.body.key } })
    const downloaded = new Uint8Array(await (await fetch(link.body.url)).arrayBuffer())
    expect(sha256(downloaded)).toBe(spec.sha256)
    expect(downloaded.byteLength).toBe(bytes.byteLength)

    // Content-addressed: asking again says it is already there.
    expect((await api(r.port, '/v1/blobs/upload-url', { token, json: spec })).body.exists).toBe(true)
    const viewer = await tokenFor({ sub: 'u9', teams: [{ id: 't7', role: 'viewer' }] })
    expect((await api(r.port, '/v1/blobs/upload-url', { token: viewer, json: spec })).status).toBe(403)
    expect((await api(r.port, '/v1/blobs/download-url', { token: viewer, json: { key: signed.body.key } })).status).toBe(200)
    const stranger = await tokenFor({ sub: 'u2' })
    expect((await api(r.port, '/v1/blobs/download-url', { token: stranger, json: { key: signed.body.key } })).status).toBe(403)
  })

  it('refuses tampered, oversized, mistyped and expired uploads, storing nothing', async () => {
    const r = await relay(kind, { BLOB_URL_TTL_SECONDS: 2 })
    const token = await tokenFor({ sub: 'u1' })
    const bytes = randomBytes(64 * 1024)
    const spec = { scope: 'users/u1/', size: bytes.byteLength, contentType: 'image/png', sha256: sha256(bytes) }
    const signed = (await api(r.port, '/v1/blobs/upload-url', { token, json: spec })).body
    const other = randomBytes(64 * 1024)
    const otherSigned = (await api(r.port, '/v1/blobs/upload-url', { token, json: { ...spec, sha256: sha256(other) } })).body

    const tampered = new URL(signed.url)
    const sigParam = [...tampered.searchParams.keys()].find((k) => /^(x-amz-signature|sig)$/i.test(k))!
    const sig = tampered.searchParams.get(sigParam)!
    tampered.searchParams.set(sigParam, (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1))
    expect(await put(tampered.toString(), bytes, 'image/png')).toBe(403)
    // The signature of one blob's URL does not open another key.
    expect(await put(signed.url.replace(spec.sha256, sha256(other)), other, 'image/png')).toBe(403)
    const oversized = await put(signed.url, Buffer.concat([bytes, Buffer.from([1])]), 'image/png')
    expect([400, 403, 413, 'connection closed']).toContain(oversized)
    expect(await put(signed.url, bytes.subarray(1), 'image/png')).not.toBe(200)
    expect(await put(signed.url, bytes, 'text/html')).toBe(kind === 's3' ? 403 : 400)
    await sleep(3200)
    expect(await put(otherSigned.url, other, 'image/png')).toBe(403)
    expect(await count(r.store, 'users/u1/blobs/')).toBe(0)

    const fresh = (await api(r.port, '/v1/blobs/upload-url', { token, json: spec })).body
    expect(await put(fresh.url, bytes, 'image/png')).toBe(200)
    expect(await count(r.store, 'users/u1/blobs/')).toBe(1)
  })

  it('validates requests with a 400 naming the field, and batches up to 100', async () => {
    const r = await relay(kind)
    const token = await tokenFor({ sub: 'u1' })
    const bad = await api(r.port, '/v1/blobs/upload-url', { token, json: { scope: 'users/u1/', size: 10, contentType: 'image/png', sha256: 'xyz' } })
    expect(bad.status).toBe(400)
    expect(bad.body.error.message).toMatch(/^sha256: /)
    expect((await api(r.port, '/v1/blobs/upload-url', { token, json: { scope: 'users/u1/', size: -1, contentType: 'image/png', sha256: 'a'.repeat(64) } })).body.error.message).toMatch(/^size: /)
    expect((await api(r.port, '/v1/blobs/upload-url', { token, json: { scope: 'users/u1/', size: 1, contentType: 'nonsense', sha256: 'a'.repeat(64) } })).body.error.message).toMatch(/^contentType: /)
    expect((await api(r.port, '/v1/blobs/upload-url', { token, json: { scope: 'users/u2/', size: 1, contentType: 'a/b', sha256: 'a'.repeat(64) } })).status).toBe(403)
    expect((await api(r.port, '/v1/blobs/stat?key=../../etc/passwd', { token })).status).toBe(400)

    const items = Array.from({ length: 100 }, (_, i) => ({ scope: 'users/u1/', size: 3, contentType: 'text/plain', sha256: sha256(Buffer.from(`b${i}`)) }))
    items[7] = { ...items[7]!, scope: 'users/u2/' }
    const batch = await api(r.port, '/v1/blobs/upload-urls', { token, json: { items } })
    expect(batch.status).toBe(200)
    expect(batch.body.items).toHaveLength(100)
    expect(batch.body.items[7].error).toMatchObject({ code: 'forbidden', status: 403 })
    expect(batch.body.items[8].url).toBeTruthy()
    expect((await api(r.port, '/v1/blobs/upload-urls', { token, json: { items: [...items, items[0]] } })).body.error.message).toMatch(/^items: /)
    const keys = batch.body.items.filter((i: { key?: string }) => i.key).slice(0, 3).map((i: { key: string }) => i.key)
    const downloads = await api(r.port, '/v1/blobs/download-urls', { token, json: { keys } })
    expect(downloads.body.items.map((i: { error?: { code: string } }) => i.error?.code)).toEqual(['not_found', 'not_found', 'not_found'])
  })

  it('lists with cursor pagination, deletes by prefix across 2,500 objects, and honours blob tombstones', async () => {
    const r = await relay(kind)
    const token = await tokenFor({ sub: 'u1' })
    const total = 2500
    const keys = Array.from({ length: total }, (_, i) => `users/u1/blobs/${sha256(Buffer.from(`blob ${i}`))}`)
    for (let i = 0; i < total; i += 100) await Promise.all(keys.slice(i, i + 100).map((k) => r.store.put(k, new Uint8Array([1, 2]))))
    await r.store.put('users/u1/docs/keep/~log/1.bin', new Uint8Array([0, 0]))

    const seen: string[] = []
    let cursor: string | undefined
    do {
      const page = await api(r.port, `/v1/blobs?scope=users/u1/&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token })
      expect(page.status).toBe(200)
      seen.push(...page.body.items.map((i: { key: string }) => i.key))
      cursor = page.body.cursor
    } while (cursor)
    expect(seen).toEqual([...keys].sort())

    const zeroes = keys.filter((k) => k.startsWith('users/u1/blobs/0'))
    const byPrefix = await api(r.port, '/v1/blobs/delete-prefix', { token, json: { scope: 'users/u1/', prefix: '0' } })
    expect(byPrefix.body.deleted).toBe(zeroes.length)
    const all = await api(r.port, '/v1/blobs/delete-prefix', { token, json: { scope: 'users/u1/' } })
    expect(all.body.deleted).toBe(total - zeroes.length)
    expect(await count(r.store, 'users/u1/blobs/')).toBe(0)
    expect(await count(r.store, 'users/u1/docs/')).toBe(1)

    const bytes = Buffer.from('tombstoned content')
    const spec = { scope: 'users/u1/', size: bytes.byteLength, contentType: 'text/plain', sha256: sha256(bytes) }
    const first = (await api(r.port, '/v1/blobs/upload-url', { token, json: spec })).body
    expect(await put(first.url, bytes, 'text/plain')).toBe(200)
    expect((await api(r.port, `/v1/blobs?key=${first.key}&tombstone=true`, { method: 'DELETE', token })).status).toBe(200)
    const refused = await api(r.port, '/v1/blobs/upload-url', { token, json: spec })
    expect(refused.status).toBe(404)
    expect(refused.body.error).toMatchObject({ code: 'blob_deleted', deletedBy: 'u1' })
    expect((await api(r.port, '/v1/blobs/upload-url', { token, json: { ...spec, restore: true } })).status).toBe(200)
  })
})
