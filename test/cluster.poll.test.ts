/**
 * S3-only mode (CLUSTER=poll): two relay processes on one radosgw bucket and no Redis converge
 * through the bucket within a flush and two poll intervals.
 */
import { describe, expect, it } from 'vitest'
import { testCleanup } from './support/cleanup.js'
import { synced, waitFor } from './support/clients.js'
import { spawnRelay } from './support/relay.js'
import { s3Env, s3Store, uniqueBucket } from './support/stores.js'
import { changeMarkerKey, singleTenantRef } from '../server/docs/layout.js'

const cleanup = testCleanup()

const POLL_MS = 1000
const FLUSH_MS = 200
/** A flush (up to 1.2 × FLUSH_MS), two polls, and a second for S3 round trips on a busy machine. */
const BOUND_MS = 1.2 * FLUSH_MS + 2 * POLL_MS + 1000

describe('relays sharing only the bucket', () => {
  it('two relays without Redis converge within two poll intervals, both ways', async () => {
    const bucket = uniqueBucket()
    const env = { ...s3Env(bucket), CLUSTER: 'poll', POLL_MS: String(POLL_MS), FLUSH_MS: String(FLUSH_MS) }
    const relays = await Promise.all([spawnRelay({ ...env, INSTANCE_ID: 'polla' }), spawnRelay({ ...env, INSTANCE_ID: 'pollb' })])
    for (const r of relays) cleanup.defer(() => r.stop('SIGKILL'))
    const [a, b] = relays.map((r) => cleanup.client(r.url, 'notes/polled')) as [ReturnType<typeof cleanup.client>, ReturnType<typeof cleanup.client>]
    await Promise.all([synced(a), synced(b)])
    const latencies: number[] = []
    for (let i = 0; i < 4; i++) {
      const [from, to] = i % 2 === 0 ? [a, b] : [b, a]
      const token = `edit ${i};`
      const started = Date.now()
      from.text.insert(from.text.length, token)
      await waitFor(() => to.text.toString().includes(token), `edit ${i} on the other relay`, 3 * BOUND_MS)
      latencies.push(Date.now() - started)
    }
    console.log(`S3-only cross-relay latency (ms), POLL_MS=${POLL_MS}: ${latencies.join(', ')}`)
    expect(Math.max(...latencies)).toBeLessThanOrEqual(BOUND_MS)
    expect(a.text.toString()).toBe(b.text.toString())
    // The marker the relays watch lives under the bookkeeping prefix, as layout.ts says.
    const store = s3Store(bucket)
    cleanup.defer(() => store.close())
    expect(await store.head(changeMarkerKey(singleTenantRef('notes/polled')))).not.toBeNull()
  })
})
