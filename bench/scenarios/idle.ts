/**
 * Idle connections: many synced clients that send nothing; memory and CPU per connection.
 * Both are the growth over the same server before the clients connected: a Node process
 * spends some CPU and memory even with no connection at all.
 */
import { closeClients, openClients } from '../connect.js'
import { CpuMeter, rssBytes } from '../proc-stats.js'
import type { Scenario } from '../scenario.js'
import { sleep } from '../timing.js'

/** Lets start-up and connection garbage settle before a reading. */
const SETTLE_MS = 1000

/** CPU ms per second the server spends over `seconds` of doing nothing new. */
async function cpuRate(pid: number, seconds: number): Promise<{ msPerS: number; seconds: number }> {
  const cpu = new CpuMeter(pid)
  const started = performance.now()
  await sleep(seconds * 1000)
  const elapsed = (performance.now() - started) / 1000
  return { msPerS: cpu.elapsedMs() / elapsed, seconds: elapsed }
}

export const idle: Scenario = {
  id: 'idle',
  title: (s) => `${s.idleRooms * s.idleClientsPerRoom} idle connections`,
  metrics: (s) => {
    const n = s.idleRooms * s.idleClientsPerRoom
    return [
      { key: 'rssKbPerConn', label: `Idle ${n} connections (${s.idleRooms} rooms): RSS per connection (KB)`, digits: 1 },
      { key: 'cpuUsPerConnPerS', label: `Idle ${n} connections: CPU per connection per second (µs)`, digits: 2 },
    ]
  },
  async run({ server, sizes, room }) {
    const n = sizes.idleRooms * sizes.idleClientsPerRoom
    await sleep(SETTLE_MS)
    const rssBefore = rssBytes(server.pid)
    const before = await cpuRate(server.pid, sizes.idleSeconds)
    const clients = await openClients(server, Array.from({ length: n }, (_, i) => room(i % sizes.idleRooms)))
    await sleep(SETTLE_MS)
    const held = await cpuRate(server.pid, sizes.idleSeconds)
    const rssWith = rssBytes(server.pid)
    await closeClients(clients)
    return {
      figures: {
        rssKbPerConn: (rssWith - rssBefore) / n / 1024,
        cpuUsPerConnPerS: (Math.max(0, held.msPerS - before.msPerS) * 1000) / n,
      },
      details: {
        connections: n,
        cpuMsPerSWithout: before.msPerS,
        cpuMsPerSWith: held.msPerS,
        heldSeconds: held.seconds,
        rssBeforeMb: rssBefore / 2 ** 20,
        rssWithMb: rssWith / 2 ** 20,
      },
    }
  },
}
