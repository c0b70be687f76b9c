/**
 * Burst: one client sends updates as fast as it can; wall time until a second client has them
 * all, and the server's CPU per 1,000 relayed updates until it is idle again, so deferred
 * persistence is included.
 */
import { closeClients, openClients } from '../connect.js'
import { CpuMeter, untilIdle } from '../proc-stats.js'
import type { Scenario } from '../scenario.js'
import { withTimeout } from '../timing.js'

/** At least yrelay's flush delay (1 s) and Hocuspocus's store debounce (2 s), so their deferred work is counted. */
const TRAILING_WORK_MIN_MS = 3000
const TRAILING_WORK_MAX_MS = 120_000
const RECEIVE_TIMEOUT_MS = 120_000

export const burst: Scenario = {
  id: 'burst',
  title: (s) => `burst of ${s.burstUpdates} updates`,
  runs: (s) => s.burstRuns,
  metrics: (s) => [
    { key: 'wallMs', label: `Burst ${s.burstUpdates} updates: until all received (ms)`, digits: 0 },
    { key: 'cpuMsPer1k', label: `Burst: server CPU per 1,000 updates (ms)`, digits: 1 },
  ],
  async run({ server, sizes, room }) {
    const n = sizes.burstUpdates
    const [sender, receiver] = await openClients(server, [room(0), room(0)])
    let received = 0
    const all = new Promise<void>((resolve) => {
      receiver!.onRemoteUpdate = () => {
        if (++received === n) resolve()
      }
    })
    const cpu = new CpuMeter(server.pid)
    const started = performance.now()
    for (let i = 0; i < n; i++) sender!.insert('t', i, 'x')
    await withTimeout(all, RECEIVE_TIMEOUT_MS, `receiving ${n} updates`).catch((err: Error) => {
      throw new Error(`${err.message} (${received} arrived)`)
    })
    const wallMs = performance.now() - started
    const cpuAtReceiptMs = cpu.elapsedMs()
    const settled = await untilIdle(server.pid, TRAILING_WORK_MIN_MS, TRAILING_WORK_MAX_MS)
    if (!settled) throw new Error(`server still busy ${TRAILING_WORK_MAX_MS} ms after relaying the burst`)
    const serverCpuMs = cpu.elapsedMs()
    const settledMs = performance.now() - started
    await closeClients([sender!, receiver!])
    return {
      figures: { wallMs, cpuMsPer1k: (serverCpuMs / n) * 1000 },
      details: { updates: n, serverCpuMs, cpuAtReceiptMs, idleAgainAfterMs: settledMs },
    }
  },
}
