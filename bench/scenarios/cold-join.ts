/**
 * Cold join: a document is built from many small updates sent through the server; everyone
 * leaves and the server persists and unloads it; then a fresh client joins and the time
 * until it holds the full state (sync step 2 received) is measured.
 */
import type { BenchClient } from '../bench-client.js'
import { closeClients, connect, openClients, synced } from '../connect.js'
import { randomText, seededRandom } from '../content.js'
import { Deliveries } from '../delivery.js'
import { CpuMeter } from '../proc-stats.js'
import type { Scenario } from '../scenario.js'
import { sleep, until } from '../timing.js'

const BUILD_TIMEOUT_MS = 300_000
const UNLOAD_TIMEOUT_MS = 180_000
/** Updates a writer sends before yielding, so writers interleave and sockets drain. */
const SEND_SLICE = 500

export const coldJoin: Scenario = {
  id: 'cold-join',
  title: (s) => `cold join of a document built from ${s.coldUpdates} updates`,
  metrics: (s) => [{ key: 'joinMs', label: `Cold join, document of ${s.coldUpdates} updates: until full state (ms)`, digits: 0 }],
  notApplicable: (spec) => {
    if (spec.stateless) return 'holds no document to join'
    if (spec.afterLastLeave === 'discards') return `${spec.label} without a storage extension drops a document when its last client leaves, so there is nothing to join cold`
    return null
  },
  async run({ server, sizes, room }) {
    const writerCount = sizes.coldWriters
    const perWriter = Math.ceil(sizes.coldUpdates / writerCount)
    const clients = await openClients(server, Array.from({ length: writerCount + 1 }, () => room(0)))
    const observer = clients[writerCount]!
    const writers = clients.slice(0, writerCount)
    const deliveries = new Deliveries(false)
    deliveries.listen(observer)
    const buildStarted = performance.now()
    const buildCpu = new CpuMeter(server.pid)
    await Promise.all(writers.map((w, i) => write(w, i, perWriter, deliveries)))
    if (!(await deliveries.drained(BUILD_TIMEOUT_MS))) throw new Error(`observer still misses ${deliveries.outstanding} updates`)
    const buildMs = performance.now() - buildStarted
    const buildCpuMs = buildCpu.elapsedMs()
    const expected = writers.map((w, i) => w.doc.getText(`w${i}`).toString())
    await closeClients(clients)

    let unload: { ms: number; cpuMs: number } | null = null
    let note: string | undefined
    if (server.spec.afterLastLeave === 'keeps-in-memory') {
      note = 'warm, not cold: the in-memory reference server keeps every document loaded after its clients leave'
    } else {
      const { openRooms } = server
      if (!openRooms) throw new Error(`${server.spec.label} does not report its open rooms, so the unload cannot be awaited`)
      const left = performance.now()
      const unloadCpu = new CpuMeter(server.pid)
      await until(async () => (await openRooms()) === 0, UNLOAD_TIMEOUT_MS, 'room unloaded after everyone left', 100)
      unload = { ms: performance.now() - left, cpuMs: unloadCpu.elapsedMs() }
    }

    const cpu = new CpuMeter(server.pid)
    const started = performance.now()
    const joiner = connect(server, room(0), { keepSyncedState: true })
    await synced(joiner)
    const joinMs = performance.now() - started
    const joinCpuMs = cpu.elapsedMs()
    await closeClients([joiner])
    const wrong = expected.filter((text, i) => joiner.syncedText(`w${i}`) !== text).length
    if (wrong > 0) throw new Error(`joiner's state differs from what was written in ${wrong} of ${writerCount} texts`)
    return {
      figures: { joinMs },
      details: {
        updates: perWriter * writerCount,
        writers: writerCount,
        buildMs,
        buildCpuMs,
        unloadMs: unload?.ms ?? null,
        unloadCpuMs: unload?.cpuMs ?? null,
        joinCpuMs,
        unexpectedDeliveries: deliveries.unexpected,
      },
      ...(note ? { note } : {}),
    }
  },
}

/** Short words typed at random places of the writer's own text; the same sequence on every server. */
async function write(writer: BenchClient, index: number, count: number, deliveries: Deliveries): Promise<void> {
  const random = seededRandom(index + 1)
  const field = `w${index}`
  const text = writer.doc.getText(field)
  for (let i = 0; i < count; i++) {
    const sentAt = performance.now()
    deliveries.sent(writer.insert(field, Math.floor(random() * (text.length + 1)), randomText(random, 3 + Math.floor(random() * 6))), 1, sentAt)
    if (i % SEND_SLICE === SEND_SLICE - 1) await sleep(0)
  }
}
