/**
 * Join storm: many fresh clients join one large document at the same moment. Wall time until
 * all hold the full state, the server's CPU meanwhile, and its peak RSS.
 */
import { closeClients, connect, openClients, synced } from '../connect.js'
import { prebuiltDocument } from '../content.js'
import { CpuMeter, rssBytes, RssPeak } from '../proc-stats.js'
import type { Scenario } from '../scenario.js'
import { withTimeout } from '../timing.js'
import { clientOfKey } from '../update-id.js'

const SEED_TIMEOUT_MS = 60_000

export const joinStorm: Scenario = {
  id: 'storm',
  title: (s) => `join storm, ${s.stormClients} clients on a ${(s.stormDocKb / 1024).toFixed(1)} MB document`,
  metrics: (s) => {
    const name = `Join storm ${s.stormClients} × ${(s.stormDocKb / 1024).toFixed(1)} MB`
    return [
      { key: 'wallMs', label: `${name}: until all synced (ms)`, digits: 0 },
      { key: 'cpuMs', label: `${name}: server CPU (ms)`, digits: 0 },
      { key: 'peakRssMb', label: `${name}: peak RSS (MB)`, digits: 0 },
    ]
  },
  runs: (s) => s.stormRuns,
  notApplicable: (spec) => (spec.stateless ? 'holds no document to join' : null),
  async run({ server, sizes, room }) {
    const doc = prebuiltDocument(sizes.stormDocKb)
    // The seeder stays connected so every server still holds the document when the storm hits.
    const [seeder, observer] = await openClients(server, [room(0), room(0)])
    const seeded = new Promise<void>((resolve) => {
      observer!.onRemoteUpdate = (key) => {
        if (clientOfKey(key) === doc.clientID) resolve()
      }
    })
    seeder!.applyLocal(doc.update)
    await withTimeout(seeded, SEED_TIMEOUT_MS, 'seeding the document')
    await closeClients([observer!])

    const rssBefore = rssBytes(server.pid)
    const peak = new RssPeak(server.pid)
    const cpu = new CpuMeter(server.pid)
    const started = performance.now()
    const joiners = Array.from({ length: sizes.stormClients }, (_, i) => connect(server, room(0), { keepSyncedState: i === 0 }))
    let peakRss: number
    try {
      await Promise.all(joiners.map(synced))
    } finally {
      peakRss = peak.stop()
    }
    const wallMs = performance.now() - started
    const serverCpuMs = cpu.elapsedMs()
    await closeClients([...joiners, seeder!])
    if (joiners[0]!.syncedText(doc.field).length !== doc.length) throw new Error('a joiner did not receive the whole document')
    return {
      figures: { wallMs, cpuMs: serverCpuMs, peakRssMb: peakRss / 2 ** 20 },
      details: { joiners: sizes.stormClients, documentBytes: doc.update.byteLength, rssBeforeMb: rssBefore / 2 ** 20 },
    }
  },
}
