/**
 * Benchmark sizes. `--quick` picks a smaller set that finishes in about two minutes; every
 * size can be overridden by a flag (`--fanout-rooms 20`) or an environment variable
 * (`BENCH_FANOUT_ROOMS=20`), flags winning.
 */

export const FULL_SIZES = {
  fanoutRooms: 50,
  fanoutClientsPerRoom: 4,
  fanoutRate: 10,
  fanoutSeconds: 10,
  fanoutWarmupSeconds: 3,
  /** Fresh-process runs of each fan-out scenario per server, taking turns; the table shows medians. */
  fanoutRuns: 3,
  crowdClients: 50,
  crowdSenders: 5,
  crowdRate: 10,
  crowdSeconds: 10,
  burstUpdates: 10_000,
  /** Runs of the burst per server: its CPU figure varies by a third between runs on a quiet machine. */
  burstRuns: 5,
  coldUpdates: 50_000,
  coldWriters: 5,
  idleRooms: 200,
  idleClientsPerRoom: 10,
  idleSeconds: 10,
  stormClients: 150,
  stormDocKb: 4096,
  /** Runs of the join storm per server: the reference's peak RSS alone moved from 266 to 471 MB between runs. */
  stormRuns: 3,
  memoryRooms: 200,
  memoryClientsPerRoom: 4,
  memoryUpdatesPerClient: 50,
  memorySettleSeconds: 5,
  crossRooms: 50,
  crossRate: 20,
  crossSeconds: 10,
}

export type Sizes = typeof FULL_SIZES

const QUICK_SIZES: Sizes = {
  fanoutRooms: 10,
  fanoutClientsPerRoom: 4,
  fanoutRate: 10,
  fanoutSeconds: 2,
  fanoutWarmupSeconds: 1,
  fanoutRuns: 1,
  crowdClients: 20,
  crowdSenders: 3,
  crowdRate: 10,
  crowdSeconds: 2,
  burstUpdates: 2_000,
  burstRuns: 3,
  coldUpdates: 5_000,
  coldWriters: 5,
  idleRooms: 50,
  idleClientsPerRoom: 10,
  idleSeconds: 2,
  stormClients: 30,
  stormDocKb: 1024,
  stormRuns: 1,
  memoryRooms: 40,
  memoryClientsPerRoom: 4,
  memoryUpdatesPerClient: 20,
  memorySettleSeconds: 2,
  crossRooms: 20,
  crossRate: 10,
  crossSeconds: 3,
}

export interface Options {
  quick: boolean
  sizes: Sizes
  /** Scenario ids to run (all when empty). */
  only: string[]
  /** Server ids to run (all when empty). */
  servers: string[]
}

const USAGE = `usage: npm run bench -- [--quick] [--only fanout,burst,...] [--servers yrelay-dir,reference,...] [--<size> N ...]
sizes: ${Object.keys(FULL_SIZES).map(toFlag).join(' ')}`

function toFlag(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`
}

function toEnv(key: string): string {
  return `BENCH_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`
}

function parseSize(name: string, value: string): number {
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}: expected a positive number, got "${value}"\n${USAGE}`)
  return n
}

export function parseOptions(argv: string[], env: Record<string, string | undefined>): Options {
  const quick = argv.includes('--quick')
  const sizes: Sizes = { ...(quick ? QUICK_SIZES : FULL_SIZES) }
  const keys = Object.keys(sizes) as (keyof Sizes)[]
  for (const key of keys) {
    const value = env[toEnv(key)]
    if (value !== undefined && value !== '') sizes[key] = parseSize(toEnv(key), value)
  }
  const options: Options = { quick, sizes, only: [], servers: [] }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--quick') continue
    const value = argv[i + 1]
    if (value === undefined) throw new Error(`${arg}: needs a value\n${USAGE}`)
    i++
    if (arg === '--only') options.only = value.split(',')
    else if (arg === '--servers') options.servers = value.split(',')
    else {
      const key = keys.find((k) => toFlag(k) === arg)
      if (!key) throw new Error(`unknown argument ${arg}\n${USAGE}`)
      sizes[key] = parseSize(arg, value)
    }
  }
  return options
}
