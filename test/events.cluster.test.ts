/**
 * The change feed across relays over Redis: a subscriber on one relay sees document and blob
 * changes made through another, resumes after a dropped connection, and gets `reset` (never
 * silence) when Redis was away and events may have been lost.
 */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { api } from './support/api.js'
import { testCleanup } from './support/cleanup.js'
import { sleep, waitFor } from './support/clients.js'
import { readyz, uniquePrefix } from './support/cluster.js'
import { RawClient, updatesOf } from './support/raw-client.js'
import { redisServer } from './support/redis-server.js'
import { spawnRelay } from './support/relay.js'
import { subscribeSse, type SseStream } from './support/sse.js'
import { s3Env, s3Store, uniqueBucket } from './support/stores.js'

const cleanup = testCleanup()

async function twoRelays(redisUrl: string) {
  const bucket = uniqueBucket()
  const base = { ...s3Env(bucket), REDIS_URL: redisUrl, REDIS_PREFIX: uniquePrefix(), FLUSH_MS: '100' }
  const [a, b] = await Promise.all([spawnRelay({ ...base, INSTANCE_ID: 'feeda' }), spawnRelay({ ...base, INSTANCE_ID: 'feedb' })])
  for (const r of [a!, b!]) cleanup.defer(() => r.stop('SIGKILL'))
  // Subscribers that arrive before a relay reaches Redis get a reset once it does.
  await waitFor(async () => (await readyz(a!.port)).status === 200 && (await readyz(b!.port)).status === 200, 'both relays on Redis')
  return { a: a!, b: b!, bucket }
}

function feedOf(port: number, lastEventId?: string): SseStream {
  const stream = subscribeSse(`http://127.0.0.1:${port}/v1/events`, { lastEventId })
  cleanup.defer(() => stream.close())
  return stream
}

async function writer(url: string, doc: string): Promise<RawClient> {
  const c = new RawClient(`${url}/${doc}?ext=1`)
  cleanup.defer(() => c.close())
  return c.ready()
}

describe('change feed across relays (Redis)', () => {
  it('delivers changes, deletes and blobs made through another relay, and resumes after a drop', async () => {
    const redis = await redisServer()
    cleanup.defer(() => redis.stop())
    const { a, b, bucket } = await twoRelays(redis.url)
    const feed = feedOf(b.port)
    await waitFor(() => feed.comments.some((c) => c.startsWith('subscribed')), 'subscribed on relay B')

    const onA = await writer(a.url, 'notes/shared')
    const [first, second] = updatesOf(['from relay A', ' again'])
    const sent = Date.now()
    onA.sendUpdate(first!)
    await waitFor(() => feed.events.some((e) => e.event === 'doc.changed'), 'doc.changed on relay B', 5000)
    expect(feed.events[0]!.data).toMatchObject({ scope: '', name: 'notes/shared' })
    expect(feed.events[0]!.at - sent).toBeLessThan(2000)

    // A blob announced through relay A.
    const bytes = new TextEncoder().encode('attachment')
    const key = `blobs/${createHash('sha256').update(bytes).digest('hex')}`
    const store = s3Store(bucket)
    cleanup.defer(() => store.close())
    await store.put(key, bytes)
    expect((await api(a.port, '/v1/blobs/complete', { json: { key } })).status).toBe(200)
    await waitFor(() => feed.events.some((e) => e.event === 'blob.added'), 'blob.added on relay B')
    expect(feed.events.find((e) => e.event === 'blob.added')!.data).toMatchObject({ key, size: bytes.byteLength })

    // Dropped: what happens through A meanwhile is replayed by B from Last-Event-ID.
    feed.close()
    const lastId = feed.events.at(-1)!.id!
    onA.sendUpdate(second!)
    await waitFor(() => onA.saved() === 2, 'second update stored')
    expect((await api(a.port, '/v1/docs/notes/shared', { method: 'DELETE' })).status).toBe(200)
    await sleep(500)
    const resumed = feedOf(b.port, lastId)
    await waitFor(() => resumed.events.some((e) => e.event === 'doc.deleted'), 'missed events replayed by relay B')
    expect(resumed.events.map((e) => e.event)).toEqual(['doc.changed', 'doc.deleted'])
    expect(resumed.events[1]!.data).toMatchObject({ name: 'notes/shared', deletedBy: null })
    // Relay A's own subscribers see its events once, not echoed back from Redis.
    const onAFeed = feedOf(a.port)
    await waitFor(() => onAFeed.comments.some((c) => c.startsWith('subscribed')), 'subscribed on relay A')
    const other = await writer(a.url, 'notes/other')
    other.sendUpdate(first!)
    await waitFor(() => onAFeed.events.length > 0, 'relay A sees its own change')
    await sleep(500)
    expect(onAFeed.events.map((e) => e.event)).toEqual(['doc.changed'])
  })

  it('tells subscribers to refetch (reset) after Redis was away, instead of missing events silently', async () => {
    const redis = await redisServer()
    cleanup.defer(() => redis.stop())
    const { a, b } = await twoRelays(redis.url)
    const feed = feedOf(b.port)
    await waitFor(() => feed.comments.some((c) => c.startsWith('subscribed')), 'subscribed on relay B')
    const onA = await writer(a.url, 'notes/outage')
    const [during, after] = updatesOf(['written while Redis is down', ' and after'])

    await redis.stop()
    onA.sendUpdate(during!)
    await waitFor(() => onA.saved() === 1, 'stored on relay A while Redis is down')
    expect(feed.events).toEqual([])
    await redis.start()
    await waitFor(() => feed.events.some((e) => e.event === 'reset'), 'reset on relay B after Redis returns', 20_000)
    onA.sendUpdate(after!)
    await waitFor(() => feed.events.some((e) => e.event === 'doc.changed'), 'changes flow again', 10_000)
    expect(feed.events.filter((e) => e.event === 'doc.changed').every((e) => e.data.name === 'notes/outage')).toBe(true)
  })
})
