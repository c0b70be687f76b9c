/** The change feed: SSE delivers another client's change quickly, and resumes after a dropped connection. */
import { describe, expect, it } from 'vitest'
import { AccessPolicy } from '../server/auth/access.js'
import { TEST_SECRET, api, tokenFor } from './support/api.js'
import { testCleanup } from './support/cleanup.js'
import { waitFor } from './support/clients.js'
import { RawClient, updatesOf } from './support/raw-client.js'
import { startRelay } from './support/relay.js'
import { subscribeSse, type SseStream } from './support/sse.js'
import { freshStore } from './support/stores.js'

const cleanup = testCleanup()

function subscribe(port: number, token: string, lastEventId?: string): SseStream {
  const stream = subscribeSse(`http://127.0.0.1:${port}/v1/events?scope=teams/t7/`, { token, lastEventId })
  cleanup.defer(() => stream.close())
  return stream
}

describe('change feed (SSE)', () => {
  it('delivers a change made by another client within a second, and resumes after a dropped connection', async () => {
    const store = await freshStore('directory')
    const r = await startRelay(store, {}, new AccessPolicy({ tenancy: 'multi', key: { kind: 'secret', secret: TEST_SECRET } }))
    cleanup.defer(() => r.stop())
    const token = await tokenFor({ sub: 'u1', teams: [{ id: 't7', role: 'editor' }] })
    expect((await api(r.port, '/v1/events?scope=teams/t8/', { token })).status).toBe(403)
    expect((await api(r.port, '/v1/events?scope=teams/t7/')).status).toBe(401)

    const feed = subscribe(r.port, token)
    await waitFor(() => feed.comments.some((c) => c.startsWith('subscribed')), 'subscription')
    const writer = new RawClient(`${r.url}/teams/t7/plan?token=${token}`)
    cleanup.defer(() => writer.close())
    await writer.ready()
    const [first, second] = updatesOf(['one', 'two'])
    const sent = Date.now()
    writer.sendUpdate(first!)
    await waitFor(() => feed.events.some((e) => e.event === 'doc.changed'), 'doc.changed event', 5000)
    const changed = feed.events.find((e) => e.event === 'doc.changed')!
    expect(changed.data).toMatchObject({ scope: 'teams/t7/', name: 'teams/t7/plan' })
    // Flushes happen at most every FLUSH_MS (200 ms here): the event follows within a second.
    expect(changed.at - sent).toBeLessThan(1000)

    feed.close()
    const lastId = feed.events.at(-1)!.id!
    // While nobody listens: another change and a delete.
    writer.sendUpdate(second!)
    await waitFor(() => writer.saved() === 2, 'second update stored')
    await api(r.port, '/v1/docs/teams/t7/plan', { method: 'DELETE', token })
    const resumed = subscribe(r.port, token, lastId)
    await waitFor(() => resumed.events.some((e) => e.event === 'doc.deleted'), 'missed events replayed')
    expect(resumed.events.map((e) => e.event)).toEqual(['doc.changed', 'doc.deleted'])
    expect(resumed.events[1]!.data).toMatchObject({ name: 'teams/t7/plan', deletedBy: 'u1' })

    // An id this relay never issued (another process, or too old) gets a reset, not silence.
    const stale = subscribe(r.port, token, 'zzzz.1')
    await waitFor(() => stale.events.length > 0, 'reset event')
    expect(stale.events[0]!.event).toBe('reset')
  })
})
