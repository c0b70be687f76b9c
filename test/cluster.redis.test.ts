/**
 * Many relays over a real redis-server, as separate processes on one radosgw bucket: live
 * convergence, a relay opening a room asking its peers, kill -9 under load, a Redis outage.
 */
import { describe, expect, it } from 'vitest'
import { inject } from 'vitest'
import { WebSocket } from 'ws'
import { WebsocketProvider } from 'y-websocket'
import { testCleanup } from './support/cleanup.js'
import { connectClient, sleep, synced, waitFor, type TestClient } from './support/clients.js'
import { readyz, storedText, uniquePrefix } from './support/cluster.js'
import { redisServer } from './support/redis-server.js'
import { spawnRelay, type RelayProcess } from './support/relay.js'
import { s3Env, uniqueBucket } from './support/stores.js'

const cleanup = testCleanup()

interface Cluster {
  bucket: string
  relays: RelayProcess[]
}

async function cluster(count: number, options: { redisUrl?: string; env?: Record<string, string>[] } = {}): Promise<Cluster> {
  const bucket = uniqueBucket()
  const base = { ...s3Env(bucket), REDIS_URL: options.redisUrl ?? inject('redis').url, REDIS_PREFIX: uniquePrefix() }
  const relays = await Promise.all(Array.from({ length: count }, (_, i) => spawnRelay({ ...base, INSTANCE_ID: `relay${i}`, ...options.env?.[i] })))
  for (const r of relays) cleanup.defer(() => r.stop('SIGKILL'))
  return { bucket, relays }
}

/** A client whose provider can be moved to another relay, as a multi-URL client would. */
class MovableClient {
  client: TestClient
  readonly tokens: string[] = []
  constructor(
    url: string,
    readonly room: string,
    readonly id: string,
  ) {
    this.client = connectClient(url, room)
    cleanup.defer(() => this.client.destroy())
  }
  get text(): string {
    return this.client.text.toString()
  }
  type(): void {
    const token = `${this.id}.${this.tokens.length};`
    this.tokens.push(token)
    const t = this.client.text
    // At either end, so no insertion splits another client's token.
    t.insert(this.tokens.length % 2 === 0 ? 0 : t.length, token)
  }
  moveTo(url: string): void {
    this.client.provider.destroy()
    const provider = new WebsocketProvider(url, this.room, this.client.doc, {
      WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
      disableBc: true,
      maxBackoffTime: 300,
    })
    this.client = { ...this.client, provider, destroy: () => provider.destroy() }
  }
}

/** Every client types one token each `everyMs` until stopped. */
function keepTyping(clients: MovableClient[], everyMs: number): { stop(): Promise<void> } {
  let typing = true
  const loop = (async () => {
    while (typing) {
      for (const c of clients) c.type()
      await sleep(everyMs)
    }
  })()
  return {
    stop: () => {
      typing = false
      return loop
    },
  }
}

function missing(text: string, tokens: string[]): string[] {
  return tokens.filter((t) => !text.includes(t))
}

/** Every client and the bucket hold every token (they may take a while: adoption, resync). */
async function expectEveryEdit(clients: MovableClient[], bucket: string, room: string): Promise<void> {
  const tokens = clients.flatMap((c) => c.tokens)
  await waitFor(() => clients.every((c) => c.text === clients[0]!.text), 'every replica to converge', 30_000)
  expect(missing(clients[0]!.text, tokens)).toEqual([])
  let stored = ''
  const deadline = Date.now() + 30_000
  while (missing((stored = await storedText(bucket, room)), tokens).length > 0 && Date.now() < deadline) await sleep(300)
  expect(missing(stored, tokens)).toEqual([])
}

describe('relays over Redis', () => {
  it('clients on different relays converge live, awareness included', async () => {
    const { relays } = await cluster(3)
    const clients = relays.map((r) => cleanup.client(r.url, 'notes/live'))
    await Promise.all(clients.map(synced))
    clients.forEach((c, i) => c.text.insert(0, `from relay ${i};`))
    await waitFor(() => clients.every((c) => c.text.length === 3 * 'from relay 0;'.length && c.text.toString() === clients[0]!.text.toString()), 'all three edits everywhere')
    clients[0]!.provider.awareness.setLocalStateField('user', { name: 'ada' })
    const ada = clients[0]!.doc.clientID
    await waitFor(() => clients.slice(1).every((c) => (c.provider.awareness.getStates().get(ada) as { user?: { name: string } } | undefined)?.user?.name === 'ada'), 'presence on the other relays')
    clients[0]!.destroy()
    await waitFor(() => clients.slice(1).every((c) => !c.provider.awareness.getStates().has(ada)), 'presence removed when the client left')
  })

  it('a relay opening a room gets from its peers what storage lacks, and writes it if that peer crashes', async () => {
    const { relays, bucket } = await cluster(2, { env: [{ FLUSH_MS: '600000' }, {}] })
    const [a, b] = relays as [RelayProcess, RelayProcess]
    const writer = cleanup.client(a.url, 'notes/half')
    await synced(writer)
    writer.text.insert(0, 'only in the memory of relay 0')
    await sleep(500)
    expect(await storedText(bucket, 'notes/half')).toBe('')
    const reader = cleanup.client(b.url, 'notes/half')
    await synced(reader)
    await waitFor(() => reader.text.toString() === 'only in the memory of relay 0', 'relay 1 asked relay 0')
    writer.destroy()
    expect(await a.stop('SIGKILL')).toBeNull()
    await waitFor(async () => (await storedText(bucket, 'notes/half')) === 'only in the memory of relay 0', 'relay 1 wrote what relay 0 never did', 20_000)
  })

  it('kill -9 of one relay under load: its clients move to the others, and every replica and the bucket hold every edit', async () => {
    // Relay 0 never flushes: whatever the bucket holds of its clients' edits, the others wrote.
    const { relays, bucket } = await cluster(3, { env: [{ FLUSH_MS: '600000' }, {}, {}] })
    const room = 'notes/crash'
    const clients = relays.flatMap((r, i) => [new MovableClient(r.url, room, `r${i}a`), new MovableClient(r.url, room, `r${i}b`)])
    await Promise.all(clients.map((c) => synced(c.client)))
    const load = keepTyping(clients, 60)
    await sleep(1500)
    expect(await relays[0]!.stop('SIGKILL')).toBeNull()
    await waitFor(() => !clients[0]!.client.provider.wsconnected && !clients[1]!.client.provider.wsconnected, 'clients of relay 0 noticed')
    clients[0]!.moveTo(relays[1]!.url)
    clients[1]!.moveTo(relays[2]!.url)
    await sleep(1500)
    await load.stop()
    await Promise.all(clients.map((c) => synced(c.client)))
    expect(clients.every((c) => c.tokens.length > 10)).toBe(true)
    await expectEveryEdit(clients, bucket, room)
  })

  it('Redis down for 10 s under load: /readyz says not ready, and afterwards everything converges', async () => {
    const redis = await redisServer()
    cleanup.defer(() => redis.stop())
    const { relays, bucket } = await cluster(2, { redisUrl: redis.url })
    const room = 'notes/outage'
    const clients = relays.flatMap((r, i) => [new MovableClient(r.url, room, `r${i}a`), new MovableClient(r.url, room, `r${i}b`)])
    await Promise.all(clients.map((c) => synced(c.client)))
    for (const r of relays) expect((await readyz(r.port)).status).toBe(200)
    const load = keepTyping(clients, 50)
    await sleep(1000)
    await redis.stop()
    const outageStart = Date.now()
    const notReady: string[] = []
    let samples = 0
    while (Date.now() - outageStart < 10_000) {
      for (const r of relays) {
        const { status, body } = await readyz(r.port)
        samples++
        if (status === 503 && body.error?.code === 'cluster_unavailable') notReady.push(body.error.message)
      }
      await sleep(500)
    }
    // Both relays, throughout the outage (the first samples may precede noticing it).
    expect(samples).toBeGreaterThanOrEqual(8)
    expect(notReady.length).toBeGreaterThanOrEqual(samples - 4)
    expect(notReady[0]).toMatch(/Redis at 127\.0\.0\.1:\d+ unreachable/)
    expect(await (await fetch(`http://127.0.0.1:${relays[0]!.port}/metrics`)).text()).toMatch(/^yrelay_redis_connected 0$/m)
    const duringOutage = clients[0]!.text
    expect(missing(duringOutage, clients[2]!.tokens).length).toBeGreaterThan(0)
    await redis.start()
    await waitFor(async () => (await Promise.all(relays.map((r) => readyz(r.port)))).every((r) => r.status === 200), 'ready again', 20_000)
    expect(await (await fetch(`http://127.0.0.1:${relays[0]!.port}/metrics`)).text()).toMatch(/^yrelay_redis_connected 1$/m)
    await sleep(1000)
    await load.stop()
    await expectEveryEdit(clients, bucket, room)
  })
})
