/**
 * `npm run bench [-- --quick]`: runs every scenario against every server, each on a fresh
 * server process, prints one markdown table and writes bench/results/latest.json.
 * Servers take turns per scenario so background load on the machine hits them alike.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { redisServer, type RedisServer } from '../test/support/redis-server.js'
import { startRadosgw, type S3Server } from '../test/support/s3-server.js'
import { closeLeftovers } from './connect.js'
import { parseOptions, type Sizes } from './options.js'
import { renderTable, type Outcome, type ScenarioReport } from './report.js'
import { combineRuns } from './repeat.js'
import type { Scenario } from './scenario.js'
import { burst } from './scenarios/burst.js'
import { coldJoin } from './scenarios/cold-join.js'
import { crossRelay } from './scenarios/cross-relay.js'
import { fanoutCrowd, fanoutRooms } from './scenarios/fanout.js'
import { idle } from './scenarios/idle.js'
import { joinStorm } from './scenarios/join-storm.js'
import { memoryAfterClose } from './scenarios/memory-after-close.js'
import { ROOT, SERVERS, buildServers, startServer, type RunningServer, type ServerSpec, type StoreTargets } from './servers.js'

const SCENARIOS: Scenario[] = [fanoutRooms, fanoutCrowd, crossRelay, burst, coldJoin, idle, joinStorm, memoryAfterClose]
const RESULTS_FILE = join(ROOT, 'bench/results/latest.json')

function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`)
}

function summary(outcome: Outcome): string {
  if (outcome.status === 'n/a') return 'n/a'
  if (outcome.status === 'error') return `ERROR ${outcome.error.split('\n')[0]}`
  const figures = Object.entries(outcome.figures).map(([k, v]) => `${k} ${v.toFixed(1)}`)
  return `${figures.join(', ')} (${outcome.seconds.toFixed(0)} s)`
}

async function runOnce(scenario: Scenario, spec: ServerSpec, sizes: Sizes, stores: StoreTargets, runId: string): Promise<Outcome> {
  const reason = scenario.notApplicable?.(spec)
  if (reason) return { status: 'n/a', reason }
  const started = performance.now()
  const cpuBefore = process.cpuUsage()
  const spent = () => {
    const cpu = process.cpuUsage(cpuBefore)
    return { seconds: (performance.now() - started) / 1000, loadgenCpuMs: (cpu.user + cpu.system) / 1000 }
  }
  const env: Record<string, string> = scenario.relays ? { REDIS_URL: (await stores.redis()).url, REDIS_PREFIX: `bench-${runId}-${spec.id}:` } : {}
  const starts = await Promise.allSettled(Array.from({ length: scenario.relays ?? 1 }, () => startServer(spec, stores, env)))
  const processes = starts.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []))
  const failed = starts.find((s) => s.status === 'rejected')
  if (failed) {
    await Promise.all(processes.map((p) => p.stop()))
    return { status: 'error', error: (failed.reason as Error).message, ...spent() }
  }
  const [server, peer] = processes as [RunningServer, RunningServer | undefined]
  try {
    const result = await scenario.run({ server, peer, sizes, room: (suffix) => `${runId}-${scenario.id}-${spec.id}-${suffix}` })
    const crash = server.crashed() ?? peer?.crashed()
    if (crash) throw new Error(`server exited (${crash}) during the scenario`)
    return { status: 'ok', ...result, ...spent() }
  } catch (err) {
    const crash = server.crashed() ?? peer?.crashed()
    const message = (err as Error).message + (crash ? `; server exited (${crash}):\n${server.outputTail()}` : '')
    return { status: 'error', error: message, ...spent() }
  } finally {
    await closeLeftovers()
    await Promise.all([server.stop(), peer?.stop()])
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2), process.env)
  const servers = SERVERS.filter((s) => options.servers.length === 0 || options.servers.includes(s.id))
  const scenarios = SCENARIOS.filter((s) => options.only.length === 0 || options.only.includes(s.id))
  if (servers.length === 0 || scenarios.length === 0) throw new Error('nothing selected: check --servers and --only')
  const runId = Date.now().toString(36)
  const dataDir = await mkdtemp(join(tmpdir(), 'yrelay-bench-'))
  let radosgw: Promise<S3Server> | undefined
  let redis: Promise<RedisServer> | undefined
  const stores: StoreTargets = { dataDir, s3: () => (radosgw ??= startRadosgw()), redis: () => (redis ??= redisServer()) }
  const reports: ScenarioReport[] = []
  const runStarted = performance.now()
  try {
    progress('building the servers')
    await buildServers()
    if (servers.some((s) => s.id === 'yrelay-s3')) {
      progress('starting radosgw')
      await stores.s3()
    }
    for (const scenario of scenarios) {
      const title = scenario.title(options.sizes)
      progress(`▶ ${title}`)
      const report: ScenarioReport = { id: scenario.id, title, metrics: scenario.metrics(options.sizes), outcomes: {} }
      const runs = scenario.runs?.(options.sizes) ?? 1
      const outcomes = new Map<ServerSpec, Outcome[]>(servers.map((spec) => [spec, []]))
      // Servers take turns run by run, so a slow spell on the machine does not fall on one alone.
      for (let run = 1; run <= runs; run++) {
        for (const spec of servers) {
          const outcome = await runOnce(scenario, spec, options.sizes, stores, `${runId}${runs > 1 ? `r${run}` : ''}`)
          outcomes.get(spec)!.push(outcome)
          progress(`    ${spec.label}${runs > 1 ? ` (run ${run} of ${runs})` : ''}: ${summary(outcome)}`)
        }
      }
      for (const [spec, list] of outcomes) {
        report.outcomes[spec.id] = combineRuns(list)
        if (runs > 1) progress(`    ${spec.label}, medians: ${summary(report.outcomes[spec.id]!)}`)
      }
      reports.push(report)
      progress(`✓ ${title}`)
    }
  } finally {
    await radosgw?.then((s) => s.stop()).catch((err: unknown) => progress(`radosgw stop failed: ${(err as Error).message}`))
    await redis?.then((s) => s.stop()).catch((err: unknown) => progress(`redis-server stop failed: ${(err as Error).message}`))
    await rm(dataDir, { recursive: true, force: true })
  }

  const loadgenCpu = servers.map((s) => {
    const ms = reports.reduce((sum, r) => {
      const o = r.outcomes[s.id]
      return sum + (o && o.status !== 'n/a' ? o.loadgenCpuMs : 0)
    }, 0)
    return `${s.label} ${(ms / 1000).toFixed(1)} s`
  })
  const standingNotes = [
    'Lower is better for every figure; a ratio below 1× means yrelay needs less. Each cell comes from a fresh server process; where a scenario runs several times (burst, fan-out, join storm), each on a fresh process with the servers taking turns, the cell is the median of the runs.',
    `The load generator (one Node process in this run) shares the machine's ${availableParallelism()} cores with the server under test, so latencies and wall times include its queueing. ` +
      `Its CPU over the run, per server: ${loadgenCpu.join(', ')}.`,
    'The floor is not a relay: a bare `ws` server that forwards every frame to the room\'s other clients as received, with no Yjs, validation or storage, so its figures are what `ws` and Node cost before any relay does its own work.',
    'yrelay, @y/websocket-server and the floor are driven by the same light y-websocket client (raw ws, no Y.Doc applied on receipt); Hocuspocus, which needs its own dialect, by HocuspocusProvider, which applies every received update to a Y.Doc, so Hocuspocus runs cost the shared cores more on the client side.',
    "CPU (scheduler time of all threads) and RSS come from /proc for the server process alone; radosgw's own CPU and memory are not counted for yrelay (S3). Every server runs as JavaScript compiled before the run (`node <script>.js`, yrelay as `npm start` runs it); idle CPU per connection subtracts what a server uses with no client, the other figures include it.",
  ]
  process.stdout.write(`\n${renderTable(reports, servers, standingNotes)}\n`)

  await mkdir(join(ROOT, 'bench/results'), { recursive: true })
  const json = {
    startedAt: new Date(Date.now() - (performance.now() - runStarted)).toISOString(),
    quick: options.quick,
    sizes: options.sizes,
    machine: { cores: availableParallelism(), node: process.version },
    servers,
    scenarios: reports,
  }
  await writeFile(RESULTS_FILE, `${JSON.stringify(json, null, 2)}\n`)
  progress(`results written to ${RESULTS_FILE} (${((performance.now() - runStarted) / 1000).toFixed(0)} s in all)`)
}

main().then(
  // Sockets of a server that hung are not worth waiting for once the report is out.
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`)
    process.exit(1)
  },
)
