/**
 * Memory after all rooms close: rooms are filled with content, everyone leaves, and some
 * seconds later the server's RSS is compared with its RSS before the scenario.
 */
import { closeClients, openClients } from '../connect.js'
import { randomText, seededRandom } from '../content.js'
import { Deliveries } from '../delivery.js'
import { rssBytes, RssPeak } from '../proc-stats.js'
import type { Scenario, ScenarioContext } from '../scenario.js'
import { sleep } from '../timing.js'

const SETTLE_MS = 1000
const DELIVERY_TIMEOUT_MS = 120_000
const INSERT_CHARS = 100

export const memoryAfterClose: Scenario = {
  id: 'memory',
  title: (s) => `memory after ${s.memoryRooms} rooms close`,
  metrics: (s) => [
    {
      key: 'retainedMb',
      label: `Memory ${s.memorySettleSeconds} s after ${s.memoryRooms} rooms × ${s.memoryClientsPerRoom} clients left: RSS above baseline (MB)`,
      digits: 1,
    },
  ],
  async run(ctx) {
    const { server, sizes } = ctx
    await sleep(SETTLE_MS)
    const baseline = rssBytes(server.pid)
    const peak = new RssPeak(server.pid)
    let peakRss: number
    try {
      await fillAndLeave(ctx)
      await sleep(sizes.memorySettleSeconds * 1000)
    } finally {
      peakRss = peak.stop()
    }
    const after = rssBytes(server.pid)
    return {
      figures: { retainedMb: (after - baseline) / 2 ** 20 },
      details: {
        baselineMb: baseline / 2 ** 20,
        peakMb: peakRss / 2 ** 20,
        afterMb: after / 2 ** 20,
        openRoomsAfter: server.openRooms ? await server.openRooms() : null,
      },
    }
  },
}

/** Opens the rooms, has every client type into them until all others have it, and leaves. */
async function fillAndLeave({ server, sizes, room }: ScenarioContext): Promise<void> {
  const perRoom = sizes.memoryClientsPerRoom
  const clients = await openClients(server, Array.from({ length: sizes.memoryRooms * perRoom }, (_, i) => room(Math.floor(i / perRoom))))
  const deliveries = new Deliveries(false)
  for (const c of clients) deliveries.listen(c)
  for (const [i, client] of clients.entries()) {
    const random = seededRandom(i + 1)
    const field = `c${i % perRoom}`
    for (let u = 0; u < sizes.memoryUpdatesPerClient; u++) {
      const at = Math.floor(random() * (client.doc.getText(field).length + 1))
      deliveries.sent(client.insert(field, at, randomText(random, INSERT_CHARS)), perRoom - 1, performance.now())
    }
    // Lets each room's traffic flow before the next room's clients type.
    if (i % perRoom === perRoom - 1) await sleep(0)
  }
  const delivered = await deliveries.drained(DELIVERY_TIMEOUT_MS)
  await closeClients(clients)
  if (!delivered) throw new Error(`${deliveries.outstanding} deliveries missing`)
}
