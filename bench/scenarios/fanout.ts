/**
 * Fan-out latency: senders type at a steady rate; latency is the time from a send until each
 * other client of the room has received it. Two shapes: many small rooms, one crowded room.
 * The first seconds of typing are warm-up, for every server alike: their latencies are reported
 * apart (`warmupP99`), as they measure a server's first runs of cold code and first writes.
 */
import { closeClients, openClients } from '../connect.js'
import { Deliveries } from '../delivery.js'
import type { Sizes } from '../options.js'
import { CpuMeter } from '../proc-stats.js'
import type { Scenario, ScenarioContext, ScenarioResult } from '../scenario.js'
import { percentile, sleep } from '../timing.js'

interface Shape {
  rooms: number
  clientsPerRoom: number
  sendersPerRoom: number
  /** Updates per second per sender. */
  rate: number
  seconds: number
  warmupSeconds: number
}

/** How long stragglers may take to arrive after the last send before they count as lost. */
const DRAIN_MS = 10_000

async function runFanout(ctx: ScenarioContext, shape: Shape): Promise<ScenarioResult> {
  const { server } = ctx
  const names = Array.from({ length: shape.rooms * shape.clientsPerRoom }, (_, i) => ctx.room(Math.floor(i / shape.clientsPerRoom)))
  const clients = await openClients(server, names)
  const deliveries = new Deliveries()
  for (const c of clients) deliveries.listen(c)
  const receivers = shape.clientsPerRoom - 1
  const periodMs = 1000 / shape.rate
  const senders = clients.filter((_, i) => i % shape.clientsPerRoom < shape.sendersPerRoom)
  let sent = 0
  const cpu = new CpuMeter(server.pid)
  const timers: NodeJS.Timeout[] = []
  for (const [i, sender] of senders.entries()) {
    const send = () => {
      const sentAt = performance.now()
      deliveries.sent(sender.insert(`u${i}`, Number.MAX_SAFE_INTEGER, 'x'), receivers, sentAt)
      sent++
    }
    // Spread the senders over the period so the load is steady, not a pulse per period.
    timers.push(setTimeout(() => timers.push(setInterval(send, periodMs)), Math.random() * periodMs))
  }
  deliveries.measureFrom = performance.now() + shape.warmupSeconds * 1000
  await sleep((shape.warmupSeconds + shape.seconds) * 1000)
  for (const t of timers) clearInterval(t)
  await deliveries.drained(DRAIN_MS)
  const serverCpuMs = cpu.elapsedMs()
  await closeClients(clients)
  if (deliveries.outstanding > 0) throw new Error(`${deliveries.outstanding} deliveries missing ${DRAIN_MS} ms after the last send`)
  return {
    figures: { p50: percentile(deliveries.latencies, 50), p99: percentile(deliveries.latencies, 99) },
    details: {
      sent,
      deliveries: deliveries.latencies.length,
      unexpectedDeliveries: deliveries.unexpected,
      maxMs: percentile(deliveries.latencies, 100),
      warmupSeconds: shape.warmupSeconds,
      warmupP99: percentile(deliveries.warmupLatencies, 99),
      warmupMaxMs: percentile(deliveries.warmupLatencies, 100),
      serverCpuMs,
      serverCpuMsPer1kDeliveries: (serverCpuMs / (deliveries.latencies.length + deliveries.warmupLatencies.length)) * 1000,
    },
  }
}

function fanoutScenario(id: string, shapeOf: (s: Sizes) => Shape, describe: (s: Shape) => string): Scenario {
  return {
    id,
    title: (sizes) => `fan-out, ${describe(shapeOf(sizes))}`,
    metrics: (sizes) => {
      const name = `Fan-out ${describe(shapeOf(sizes))}`
      return [
        { key: 'p50', label: `${name}: latency p50 (ms)`, digits: 1 },
        { key: 'p99', label: `${name}: latency p99 (ms)`, digits: 1 },
      ]
    },
    runs: (sizes) => sizes.fanoutRuns,
    run: (ctx) => runFanout(ctx, shapeOf(ctx.sizes)),
  }
}

export const fanoutRooms = fanoutScenario(
  'fanout',
  (s) => ({ rooms: s.fanoutRooms, clientsPerRoom: s.fanoutClientsPerRoom, sendersPerRoom: s.fanoutClientsPerRoom, rate: s.fanoutRate, seconds: s.fanoutSeconds, warmupSeconds: s.fanoutWarmupSeconds }),
  (s) => `${s.rooms} rooms × ${s.clientsPerRoom} clients, all sending ${s.rate}/s`,
)

export const fanoutCrowd = fanoutScenario(
  'crowd',
  (s) => ({ rooms: 1, clientsPerRoom: s.crowdClients, sendersPerRoom: s.crowdSenders, rate: s.crowdRate, seconds: s.crowdSeconds, warmupSeconds: s.fanoutWarmupSeconds }),
  (s) => `1 room × ${s.clientsPerRoom} clients, ${s.sendersPerRoom} sending ${s.rate}/s`,
)
