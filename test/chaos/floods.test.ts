/**
 * Resource attacks on a live relay process: a client that never reads must not grow the
 * relay's memory without bound (it is disconnected past MAX_BUFFERED_BYTES), and a flood of
 * connections — good, refused and half-open — leaves other clients served.
 */
import { readFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import * as Y from 'yjs'
import { encodeSyncStep1 } from '../../shared/protocol.js'
import { testCleanup } from '../support/cleanup.js'
import { sleep, synced, waitFor } from '../support/clients.js'
import { ProbeSocket } from '../support/probe-socket.js'
import { rawUpgradeAndClose } from '../support/raw-upgrade.js'
import { spawnRelay } from '../support/relay.js'
import { int, testSeed } from '../support/seed.js'
import { tempDir } from '../support/stores.js'

const cleanup = testCleanup()
const MB = 1024 * 1024

function rssOf(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
  return Number(kb) * 1024
}

describe('floods and slow clients', () => {
  it('disconnects a client that never reads instead of buffering for it without bound', async () => {
    const { rng } = testSeed('slow-client')
    const relay = await spawnRelay({ DATA_DIR: await tempDir(), MAX_BUFFERED_BYTES: String(4 * MB) })
    cleanup.defer(() => relay.stop('SIGKILL'))
    // A 2 MB document: every sync step 1 with a different state vector costs a distinct reply.
    const writer = cleanup.client(relay.url, 'big/doc')
    await synced(writer)
    writer.text.insert(0, 'x'.repeat(2 * MB))
    const other = cleanup.client(relay.url, 'big/doc', { doc: new Y.Doc() })
    await synced(other)
    await waitFor(() => other.text.length === 2 * MB, 'document relayed')
    const baseline = rssOf(relay.proc.pid!)

    const slow = new WebSocket(`${relay.url}/big/doc`, { perMessageDeflate: false })
    await new Promise((resolve) => slow.once('open', resolve))
    // Listen before anything is sent: the relay may cut the connection within milliseconds,
    // and a write of ours failing on the reset socket reports the close even while paused.
    const closed = new Promise<number>((resolve) => slow.once('close', (code) => resolve(code)))
    let received = 0
    slow.on('message', (d: Buffer) => (received += d.byteLength))
    // Stop reading: what the relay sends now piles up in its buffers, not ours.
    ;(slow as unknown as { _socket: Socket })._socket.pause()
    const requests = 200
    const client = writer.doc.clientID
    for (let i = 0; i < requests; i++) {
      const sv = Y.encodeStateVector(new Map([[client, int(rng, 0, MB)]]))
      slow.send(encodeSyncStep1(sv))
    }
    // Unbounded, the relay would hold 200 replies of 1-2 MB (≥ 200 MB) for this client.
    let peak = baseline
    const deadline = Date.now() + 8_000
    while (Date.now() < deadline) {
      peak = Math.max(peak, rssOf(relay.proc.pid!))
      await sleep(50)
    }
    ;(slow as unknown as { _socket: Socket })._socket.resume()
    // Terminated without a close frame (1006) once more than MAX_BUFFERED_BYTES was queued.
    expect(await closed).toBe(1006)
    expect(relay.stdout()).toContain('disconnecting a client that stopped reading')
    console.log(`[slow-client] relay RSS ${Math.round(baseline / MB)} MB → peak ${Math.round(peak / MB)} MB; the slow client received ${Math.round(received / MB)} MB of ≥ ${requests} MB asked for`)
    expect(received).toBeLessThan(64 * MB)
    expect(peak - baseline).toBeLessThan(100 * MB)
    // The well-behaved clients of the same document are still served.
    writer.text.insert(0, 'still here ')
    await waitFor(() => other.text.toString().startsWith('still here '), 'other client still relayed to')
  })

  it('stays up and keeps serving through a flood of good, refused and half-open connections', async () => {
    const { rng } = testSeed('connection-flood')
    const relay = await spawnRelay({ DATA_DIR: await tempDir() })
    cleanup.defer(() => relay.stop('SIGKILL'))
    const a = cleanup.client(relay.url, 'flood/observed')
    const b = cleanup.client(relay.url, 'flood/observed')
    let disconnects = 0
    for (const c of [a, b]) {
      c.provider.on('status', ({ status }: { status: string }) => {
        if (status === 'disconnected') disconnects++
      })
    }
    await Promise.all([synced(a), synced(b)])

    const GOOD = 600
    const REFUSED = 200
    const HALF_OPEN = 200
    const halfOpen: Socket[] = []
    for (let i = 0; i < HALF_OPEN; i++) {
      // Headers that never end (slowloris): the relay must not wait on them with anything but a socket.
      const s = connect(relay.port, '127.0.0.1', () => s.write(`GET /v1/sync/flood/h${i} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n`))
      s.on('error', () => {})
      halfOpen.push(s)
    }
    cleanup.defer(() => halfOpen.forEach((s) => s.destroy()))
    const started = Date.now()
    const [good, refused] = await Promise.all([
      Promise.all(Array.from({ length: GOOD }, (_, i) => ProbeSocket.open(`${relay.url}/flood/d${i % 50}`, 60_000))),
      Promise.all(Array.from({ length: REFUSED }, (_, i) => rawUpgradeAndClose(relay.port, `/v1/sync/${i % 2 ? '..' : 'a//b'}/x${int(rng, 0, 1e6)}`, 60_000))),
    ])
    console.log(`[connection-flood] ${GOOD} good, ${REFUSED} refused, ${HALF_OPEN} half-open connections in ${Date.now() - started} ms`)
    expect(refused.every((r) => r.closeCode === 4400)).toBe(true)
    // Every good connection is served: an update on one reaches the relay and the flood's
    // connections still answer.
    const outcomes = await Promise.all(good.map((g) => g.try(new Uint8Array([3]))))
    expect(outcomes.filter((o) => o.closed)).toEqual([])
    a.text.insert(0, 'during flood')
    await waitFor(() => b.text.toString() === 'during flood', 'observers relayed to each other during the flood')
    expect((await fetch(`http://127.0.0.1:${relay.port}/healthz`)).status).toBe(200)
    good.forEach((g) => g.close())
    halfOpen.forEach((s) => s.destroy())
    // The flood's rooms unload once it is gone; the observed one stays.
    let rooms = -1
    for (let i = 0; i < 100 && rooms !== 1; i++) {
      await sleep(100)
      rooms = ((await (await fetch(`http://127.0.0.1:${relay.port}/readyz`)).json()) as { rooms: number }).rooms
    }
    expect(rooms).toBe(1)
    expect(disconnects).toBe(0)
    expect(relay.proc.exitCode).toBeNull()
  })
})
