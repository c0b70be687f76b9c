/**
 * Cross-relay fan-out: two yrelay processes share rooms over Redis. In every room one client
 * on relay A types at a steady rate and two clients on relay B receive; latency is from the
 * send on A to the receipt on B (client → A → Redis → B → client). CPU of each relay is read
 * over the same window and given per 1,000 updates/s relayed.
 */
import { closeClients, openClients } from '../connect.js'
import { Deliveries } from '../delivery.js'
import { CpuMeter } from '../proc-stats.js'
import type { Scenario } from '../scenario.js'
import { percentile, sleep } from '../timing.js'

const RECEIVERS_PER_ROOM = 2
const DRAIN_MS = 10_000

export const crossRelay: Scenario = {
  id: 'cross-relay',
  relays: 2,
  title: (s) => `cross-relay fan-out over Redis, ${s.crossRooms} rooms × (1 sender on relay A → ${RECEIVERS_PER_ROOM} clients on relay B), ${s.crossRate}/s each`,
  metrics: (s) => {
    const name = `Cross-relay (Redis) ${s.crossRooms} rooms, ${s.crossRooms * s.crossRate} updates/s A → B`
    return [
      { key: 'p50', label: `${name}: latency p50 (ms)`, digits: 1 },
      { key: 'p99', label: `${name}: latency p99 (ms)`, digits: 1 },
      { key: 'cpuA', label: `${name}: CPU of relay A per 1,000 updates/s (ms/s)`, digits: 0 },
      { key: 'cpuB', label: `${name}: CPU of relay B per 1,000 updates/s (ms/s)`, digits: 0 },
    ]
  },
  notApplicable: (spec) => (spec.id.startsWith('yrelay') ? null : 'one process: no fan-out between instances'),
  run: async (ctx) => {
    const { server, sizes } = ctx
    const peer = ctx.peer
    if (!peer) throw new Error('cross-relay needs a second relay')
    const rooms = Array.from({ length: sizes.crossRooms }, (_, i) => ctx.room(i))
    const receivers = await openClients(peer, rooms.flatMap((r) => Array<string>(RECEIVERS_PER_ROOM).fill(r)))
    const senders = await openClients(server, rooms)
    const deliveries = new Deliveries()
    for (const c of receivers) deliveries.listen(c)
    const periodMs = 1000 / sizes.crossRate
    let sent = 0
    const cpuA = new CpuMeter(server.pid)
    const cpuB = new CpuMeter(peer.pid)
    const started = performance.now()
    const timers: NodeJS.Timeout[] = []
    for (const [i, sender] of senders.entries()) {
      const send = () => {
        deliveries.sent(sender.insert(`u${i}`, Number.MAX_SAFE_INTEGER, 'x'), RECEIVERS_PER_ROOM, performance.now())
        sent++
      }
      timers.push(setTimeout(() => timers.push(setInterval(send, periodMs)), Math.random() * periodMs))
    }
    await sleep(sizes.crossSeconds * 1000)
    for (const t of timers) clearInterval(t)
    const seconds = (performance.now() - started) / 1000
    const [cpuAMs, cpuBMs] = [cpuA.elapsedMs(), cpuB.elapsedMs()]
    await deliveries.drained(DRAIN_MS)
    await closeClients([...senders, ...receivers])
    if (deliveries.outstanding > 0) throw new Error(`${deliveries.outstanding} deliveries missing ${DRAIN_MS} ms after the last send`)
    const thousandsPerSecond = sent / seconds / 1000
    return {
      figures: {
        p50: percentile(deliveries.latencies, 50),
        p99: percentile(deliveries.latencies, 99),
        cpuA: cpuAMs / seconds / thousandsPerSecond,
        cpuB: cpuBMs / seconds / thousandsPerSecond,
      },
      details: { sent, seconds, updatesPerSecond: sent / seconds, deliveries: deliveries.latencies.length, cpuAMs, cpuBMs, maxMs: percentile(deliveries.latencies, 100) },
    }
  },
}
