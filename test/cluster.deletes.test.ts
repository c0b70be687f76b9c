/** A delete through one relay reaches the clients of every other relay, over Redis and in S3-only mode. */
import { randomBytes } from 'node:crypto'
import { describe, expect, inject, it } from 'vitest'
import { api } from './support/api.js'
import { testCleanup } from './support/cleanup.js'
import { sleep, synced, waitFor } from './support/clients.js'
import { spawnRelay } from './support/relay.js'
import { s3Env, s3Store, uniqueBucket } from './support/stores.js'
import { listAll } from '../server/store/object-store.js'

const cleanup = testCleanup()

const MODES = [
  { name: 'Redis', env: () => ({ REDIS_URL: inject('redis').url, REDIS_PREFIX: `del${randomBytes(4).toString('hex')}:` }), boundMs: 5_000 },
  { name: 'S3-only polling', env: () => ({ CLUSTER: 'poll', POLL_MS: '1000' }), boundMs: 2 * 1000 + 3_000 },
]

describe.each(MODES)('deletes across relays ($name)', ({ env, boundMs }) => {
  it('closes the document\'s clients on the other relay with 4404, and nothing is written after the delete', async () => {
    const bucket = uniqueBucket()
    const base = { ...s3Env(bucket), ...env() }
    const [a, b] = await Promise.all([spawnRelay({ ...base, INSTANCE_ID: 'dela' }), spawnRelay({ ...base, INSTANCE_ID: 'delb' })])
    for (const r of [a!, b!]) cleanup.defer(() => r.stop('SIGKILL'))
    const onB = cleanup.client(b!.url, 'notes/gone')
    await synced(onB)
    onB.text.insert(0, 'about to go')
    await waitFor(() => onB.provider.synced, 'synced')
    const closes: number[] = []
    onB.provider.on('connection-close', (event: CloseEvent | null) => event && closes.push(event.code))

    const deleted = await api(a!.port, '/v1/docs/notes/gone', { method: 'DELETE' })
    expect(deleted.status).toBe(200)
    const started = Date.now()
    await waitFor(() => closes.includes(4404), 'the client on the other relay closed with 4404', boundMs + 5_000)
    expect(Date.now() - started).toBeLessThan(boundMs)
    onB.provider.disconnect()
    onB.text.insert(0, 'zombie ')
    // The other relay removes what it wrote before it learnt of the delete, once that write ends.
    const store = s3Store(bucket)
    let keys: string[] = []
    const deadline = Date.now() + 10_000
    do {
      keys = []
      for await (const o of listAll(store, 'docs/notes/gone/')) keys.push(o.key)
      if (keys.length > 0) await sleep(200)
    } while (keys.length > 0 && Date.now() < deadline)
    expect(keys).toEqual([])
    expect((await api(b!.port, '/v1/docs/notes/gone')).body.error.code).toBe('doc_deleted')
  })
})
