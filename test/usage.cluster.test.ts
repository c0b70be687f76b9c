/**
 * Quota usage across relays over Redis: what one relay writes, deletes or stores as a blob
 * counts on the others within a moment, so a limit holds however a user's clients are spread.
 */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { TEST_SECRET, api, tokenFor, until } from './support/api.js'
import { testCleanup } from './support/cleanup.js'
import { waitFor } from './support/clients.js'
import { readyz, uniquePrefix } from './support/cluster.js'
import { RawClient, updatesOf } from './support/raw-client.js'
import { redisServer } from './support/redis-server.js'
import { spawnRelay } from './support/relay.js'
import { s3Env, s3Store, storedBytes, uniqueBucket } from './support/stores.js'

const cleanup = testCleanup()

describe('quota usage across relays (Redis)', () => {
  it('counts writes, deletes and blobs made through another relay, and enforces the limit with them', async () => {
    const redis = await redisServer()
    cleanup.defer(() => redis.stop())
    const bucket = uniqueBucket()
    const base = { ...s3Env(bucket), REDIS_URL: redis.url, REDIS_PREFIX: uniquePrefix(), FLUSH_MS: '100', TENANCY: 'multi', AUTH_JWT_SECRET: TEST_SECRET }
    const [a, b] = await Promise.all([spawnRelay({ ...base, INSTANCE_ID: 'usea' }), spawnRelay({ ...base, INSTANCE_ID: 'useb' })])
    for (const r of [a!, b!]) cleanup.defer(() => r.stop('SIGKILL'))
    await waitFor(async () => (await readyz(a!.port)).status === 200 && (await readyz(b!.port)).status === 200, 'both relays on Redis')
    const store = s3Store(bucket)
    cleanup.defer(() => store.close())

    const [big, small] = updatesOf(['x'.repeat(3000), 'y'.repeat(1000)])
    const limit = 4000
    const token = await tokenFor({ sub: 'u1', limits: { 'users/u1/': { storedBytes: limit } } })
    const usageOnB = () => api(b!.port, '/v1/usage?scope=users/u1/', { token })
    expect((await usageOnB()).body.scopes[0]).toMatchObject({ bytes: 0, documents: 0 })

    // Relay A stores about 3 KB; relay B counts it without listing again.
    const onA = new RawClient(`${a!.url}/users/u1/notes/big?ext=1&token=${token}`)
    cleanup.defer(() => onA.close())
    await onA.ready()
    onA.sendUpdate(big!)
    await waitFor(() => onA.saved() === 1, 'stored through relay A')
    const stored = await storedBytes(store, 'users/u1/')
    expect(stored).toBeGreaterThan(3000)
    await until(usageOnB, (u) => u.body.scopes[0].bytes === stored && u.body.scopes[0].documents === 1, 'relay B counts relay A\'s write', 5000)

    // So relay B refuses what would pass the limit together with it.
    const onB = new RawClient(`${b!.url}/users/u1/notes/other?ext=1&token=${token}`)
    cleanup.defer(() => onB.close())
    await onB.ready()
    onB.sendUpdate(small!)
    await waitFor(() => onB.errors().length === 1, 'relay B refuses')
    expect(onB.errors()[0]).toMatchObject({ code: 'quota_exceeded' })
    expect(onB.errors()[0]!.message).toContain(`${stored} of ${limit}`)

    // A delete through relay A frees the room on relay B.
    expect((await api(a!.port, '/v1/docs/users/u1/notes/big', { method: 'DELETE', token })).status).toBe(200)
    await until(usageOnB, (u) => u.body.scopes[0].bytes === 0 && u.body.scopes[0].documents === 0, 'relay B sees the delete', 5000)
    const again = new RawClient(`${b!.url}/users/u1/notes/again?ext=1&token=${token}`)
    cleanup.defer(() => again.close())
    await again.ready()
    again.sendUpdate(small!)
    await waitFor(() => again.saved() === 1, 'accepted on relay B once room is free')

    // A blob completed through relay A counts on relay B.
    const bytes = new Uint8Array(500).fill(7)
    const key = `users/u1/blobs/${createHash('sha256').update(bytes).digest('hex')}`
    await store.put(key, bytes)
    expect((await api(a!.port, '/v1/blobs/complete', { token, json: { key } })).status).toBe(200)
    await until(usageOnB, (u) => u.body.scopes[0].blobs === 1 && u.body.scopes[0].blobBytes === 500, 'relay B counts the blob', 5000)
    expect((await usageOnB()).body.scopes[0].bytes).toBe(await storedBytes(store, 'users/u1/'))
  })
})
