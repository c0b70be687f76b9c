/**
 * Quotas at the relay: each limit refuses at exactly its value, the refused write reaches
 * nobody and no storage, the writer is told which limit and how to raise it, and usage stays
 * right across deletes and restarts.
 */
import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage } from 'node:http'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { AccessPolicy } from '../server/auth/access.js'
import { signWebhookBody } from '../server/quota/usage-webhook.js'
import { TEST_SECRET, api, tokenFor, until } from './support/api.js'
import { testCleanup } from './support/cleanup.js'
import { waitFor } from './support/clients.js'
import { RawClient, updatesOf } from './support/raw-client.js'
import { spawnRelay, startRelay, type TEST_RELAY_CONFIG } from './support/relay.js'
import { freshStore, storedBytes, tempDir } from './support/stores.js'

const cleanup = testCleanup()

async function relay(config: Partial<typeof TEST_RELAY_CONFIG> = {}) {
  const store = await freshStore('directory')
  const r = await startRelay(store, config, new AccessPolicy({ tenancy: 'multi', key: { kind: 'secret', secret: TEST_SECRET } }))
  cleanup.defer(() => r.stop())
  return { ...r, store }
}

function client(url: string, doc: string, token: string): Promise<RawClient> {
  const c = new RawClient(`${url}/${doc}?token=${token}`)
  cleanup.defer(() => c.close())
  return c.ready()
}

describe('quotas', () => {
  it('stored bytes: accepted up to exactly the limit, the next refused, reaching no peer and no storage', async () => {
    // Nothing is flushed during the test, so usage is exactly the bytes accepted.
    const r = await relay({ FLUSH_MS: 60_000 })
    const [a, b, c, d] = updatesOf(['first ', 'this one is much too long to fit ', 'fits ', 'x'])
    const limit = a!.byteLength + c!.byteLength
    const token = await tokenFor({ sub: 'u1', limits: { 'users/u1/': { storedBytes: limit } } })
    const writer = await client(r.url, 'users/u1/notes', token)
    const reader = await client(r.url, 'users/u1/notes', token)
    writer.sendUpdate(a!)
    await waitFor(() => reader.doc.getText('t').toString() === 'first ', 'first update relayed')
    writer.sendUpdate(b!)
    await waitFor(() => writer.errors().length === 1, 'refusal of the second update')
    expect(writer.errors()[0]!.code).toBe('quota_exceeded')
    expect(writer.errors()[0]!.message).toContain(`of ${limit} allowed by the token's limits claim (limits["users/u1/"].storedBytes)`)
    // Exactly at the limit is allowed; one byte past it is not.
    writer.sendUpdate(c!)
    writer.sendUpdate(d!)
    await waitFor(() => writer.errors().length === 2, 'refusal of the fourth update')
    expect(reader.doc.getText('t').toString()).toBe('first ')
    expect(writer.closeCode).toBeNull()

    await r.relay.rooms.flushAll()
    const usage = await api(r.port, '/v1/usage', { token })
    expect(usage.body.scopes[0]).toMatchObject({ scope: 'users/u1/', documents: 1, limits: { storedBytes: limit } })
    expect(usage.body.scopes[0].bytes).toBe(await storedBytes(r.store, 'users/u1/'))
    const stored = await api(r.port, '/v1/docs/users/u1/notes', { token })
    expect(stored.body.content.t).not.toContain('too long')
  })

  it('documents per prefix and per scope: the profile limit refuses the next new document and says which limit', async () => {
    const r = await relay()
    const token = await tokenFor({ sub: 'u1', limits: { 'users/u1/': { documents: 3, prefixDocuments: { 'profiles/': 2 } } } })
    const [update] = updatesOf(['hello'])
    for (const doc of ['profiles/p1', 'profiles/p2']) {
      const c = await client(r.url, `users/u1/${doc}`, token)
      c.sendUpdate(update!)
      await waitFor(() => c.saved() === 1, `${doc} saved`)
    }
    const third = await client(r.url, 'users/u1/profiles/p3', token)
    third.sendUpdate(update!)
    await waitFor(() => third.errors().length === 1, 'third profile refused')
    expect(third.errors()[0]!.message).toMatch(/limit of documents under profiles\/ reached in users\/u1\/: 2 of 2 allowed/)
    // An existing profile still takes edits; a document elsewhere still counts toward the scope.
    const again = await client(r.url, 'users/u1/profiles/p1', token)
    again.sendUpdate(updatesOf(['more'])[0]!)
    await waitFor(() => again.saved() === 1, 'edit of an existing profile saved')
    const note = await client(r.url, 'users/u1/notes/n1', token)
    note.sendUpdate(update!)
    await waitFor(() => note.saved() === 1, 'third document saved')
    const fourth = await client(r.url, 'users/u1/notes/n2', token)
    fourth.sendUpdate(update!)
    await waitFor(() => fourth.errors().length === 1, 'fourth document refused')
    expect(fourth.errors()[0]!.message).toMatch(/document limit reached in users\/u1\/: 3 of 3/)

    const listed = await api(r.port, '/v1/docs?scope=users/u1/', { token })
    expect(listed.body.items.map((i: { path: string }) => i.path)).toEqual(['notes/n1', 'profiles/p1', 'profiles/p2'])
    // Deleting one frees its place.
    expect((await api(r.port, '/v1/docs/users/u1/profiles/p2', { method: 'DELETE', token })).status).toBe(200)
    const p4 = await client(r.url, 'users/u1/profiles/p4', token)
    p4.sendUpdate(update!)
    await waitFor(() => p4.saved() === 1, 'a profile fits again after a delete')
  })

  it('largest message, largest blob and stored bytes for blobs refuse at exactly their limits', async () => {
    const r = await relay()
    const [small, big] = updatesOf(['ok', 'y'.repeat(200)])
    const token = await tokenFor({ sub: 'u1', limits: { 'users/u1/': { messageBytes: small!.byteLength, blobBytes: 1000, storedBytes: 5000 } } })
    const c = await client(r.url, 'users/u1/doc', token)
    c.sendUpdate(small!)
    c.sendUpdate(big!)
    await waitFor(() => c.errors().length === 1, 'big message refused')
    expect(c.errors()[0]!.message).toMatch(/^update too large/)
    expect(c.saved()).toBeLessThanOrEqual(2)

    const spec = (size: number, n: number) => ({ scope: 'users/u1/', size, contentType: 'application/octet-stream', sha256: createHash('sha256').update(`blob ${n}`).digest('hex') })
    const tooBig = await api(r.port, '/v1/blobs/upload-url', { token, json: spec(1001, 1) })
    expect(tooBig.status).toBe(403)
    expect(tooBig.body.error).toMatchObject({ code: 'quota_exceeded', limit: 'blob_bytes', value: 1000 })
    // Unexpired upload URLs count: four of 1,000 bytes fit under 5,000 with the document, a fifth does not.
    for (let i = 2; i <= 5; i++) expect((await api(r.port, '/v1/blobs/upload-url', { token, json: spec(1000, i) })).status).toBe(200)
    const over = await api(r.port, '/v1/blobs/upload-url', { token, json: spec(1000, 6) })
    expect(over.body.error).toMatchObject({ code: 'quota_exceeded', limit: 'stored_bytes' })
  })

  it('rate: a connection past its updates per second closes with 4529, the excess update applied to nobody', async () => {
    const r = await relay({ LIMIT_UPDATES_PER_SECOND: 20 })
    const token = await tokenFor({ sub: 'u1' })
    // Far more than a second's worth at once, so a busy machine spreading their arrival over a
    // refill or two still overruns the bucket.
    const texts = Array.from({ length: 100 }, (_, i) => `${i},`)
    const writer = await client(r.url, 'users/u1/fast', token)
    const reader = await client(r.url, 'users/u1/fast', token)
    for (const u of updatesOf(texts)) writer.sendUpdate(u)
    await waitFor(() => writer.closeCode !== null, 'writer closed')
    expect(writer.closeCode).toBe(4529)
    expect(writer.errors().at(-1)!.code).toBe('rate_limited')
    await waitFor(() => reader.doc.getText('t').length > 0, 'accepted updates relayed')
    await new Promise((res) => setTimeout(res, 200))
    // The accepted ones in order, at least the bucket's 20; the refused one and all after it reached nobody.
    const accepted = reader.doc.getText('t').toString()
    const k = accepted.split(',').length - 1
    expect(k).toBeGreaterThanOrEqual(20)
    expect(k).toBeLessThan(100)
    expect(accepted).toBe(texts.slice(0, k).join(''))
  })

  it('connections per user: the one past the limit is refused with 4529 and a reason', async () => {
    const r = await relay({ LIMIT_CONNECTIONS_PER_USER: 2 })
    const token = await tokenFor({ sub: 'u1' })
    await client(r.url, 'users/u1/a', token)
    await client(r.url, 'users/u1/b', token)
    const third = new RawClient(`${r.url}/users/u1/c?token=${token}`)
    cleanup.defer(() => third.close())
    await waitFor(() => third.closeCode !== null, 'third connection closed')
    expect(third.closeCode).toBe(4529)
    expect(third.errors()[0]).toMatchObject({ code: 'too_many_connections' })
    await client(r.url, 'users/u2/a', await tokenFor({ sub: 'u2' }))
  })

  it('usage survives a restart and follows deletes; the usage webhook arrives signed', async () => {
    const received: { body: string; signature: string | undefined }[] = []
    const hook = createServer((req: IncomingMessage, res) => {
      let body = ''
      req.on('data', (d: Buffer) => (body += d.toString()))
      req.on('end', () => {
        received.push({ body, signature: req.headers['x-yrelay-signature'] as string | undefined })
        res.writeHead(204).end()
      })
    })
    await new Promise<void>((res) => hook.listen(0, '127.0.0.1', res))
    cleanup.defer(() => new Promise((res) => hook.close(res)))
    const hookSecret = 'webhook-secret-0123456789'
    const env = {
      DATA_DIR: await tempDir(),
      TENANCY: 'multi',
      AUTH_JWT_SECRET: TEST_SECRET,
      USAGE_WEBHOOK_URL: `http://127.0.0.1:${(hook.address() as { port: number }).port}/usage`,
      USAGE_WEBHOOK_SECRET: hookSecret,
      USAGE_WEBHOOK_INTERVAL_MS: '300',
    }
    const token = await tokenFor({ sub: 'u1' })
    const first = await spawnRelay(env)
    cleanup.defer(() => first.stop('SIGKILL'))
    for (const doc of ['a', 'b', 'c']) {
      const c = await client(first.url, `users/u1/${doc}`, token)
      c.sendUpdate(updatesOf([`content of ${doc}`])[0]!)
      await waitFor(() => c.saved() === 1, `${doc} saved`)
      c.close()
    }
    expect((await api(first.port, '/v1/docs/users/u1/b', { method: 'DELETE', token })).status).toBe(200)
    const before = (await api(first.port, '/v1/usage', { token })).body.scopes[0]
    expect(before).toMatchObject({ scope: 'users/u1/', documents: 2 })
    await waitFor(() => received.some((r) => JSON.parse(r.body).documents === 2), 'webhook with the figures after the delete')
    for (const r of received) expect(r.signature).toBe(signWebhookBody(hookSecret, r.body))
    expect(JSON.parse(received.at(-1)!.body)).toMatchObject({ scope: 'users/u1/', bytes: before.bytes, documents: 2 })
    expect(await first.stop()).toBe(0)

    const second = await spawnRelay(env)
    cleanup.defer(() => second.stop())
    const after = await until(() => api(second.port, '/v1/usage', { token }), (a) => a.status === 200, 'usage after restart')
    expect(after.body.scopes[0]).toMatchObject({ scope: 'users/u1/', documents: 2, bytes: before.bytes })
    const doc = new Y.Doc()
    Y.applyUpdate(doc, (await api(second.port, '/v1/docs/users/u1/c?format=update', { token })).bytes)
    expect(doc.getText('t').toString()).toBe('content of c')
  })
})
