/**
 * The servers under test, each started as its own child process (so /proc measures it alone)
 * the same way: `node <script>` on JavaScript built before the run (yrelay as `npm start`
 * builds it), ready once it prints its listening line.
 */
import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import { build } from 'esbuild'
import type { RedisServer } from '../test/support/redis-server.js'
import { freePort, type S3Server } from '../test/support/s3-server.js'

export const ROOT = new URL('../', import.meta.url).pathname

export type ServerId = 'yrelay-dir' | 'yrelay-s3' | 'reference' | 'hocuspocus' | 'floor'

export interface ServerSpec {
  id: ServerId
  label: string
  /** Hocuspocus speaks its own multiplexed dialect and is driven by its provider. */
  protocol: 'y-websocket' | 'hocuspocus'
  /** What happens to a document when its last client leaves. */
  afterLastLeave: 'persists-and-unloads' | 'keeps-in-memory' | 'discards'
  /** Holds no document at all: it forwards frames and nothing else (the floor). */
  stateless?: true
}

export const SERVERS: ServerSpec[] = [
  { id: 'yrelay-dir', label: 'yrelay (dir)', protocol: 'y-websocket', afterLastLeave: 'persists-and-unloads' },
  { id: 'yrelay-s3', label: 'yrelay (S3)', protocol: 'y-websocket', afterLastLeave: 'persists-and-unloads' },
  { id: 'reference', label: '@y/websocket-server', protocol: 'y-websocket', afterLastLeave: 'keeps-in-memory' },
  { id: 'hocuspocus', label: 'Hocuspocus', protocol: 'hocuspocus', afterLastLeave: 'discards' },
  // Not a relay: the cost of `ws` and Node alone, against which the others' own work shows.
  { id: 'floor', label: 'floor (bare ws forwarder)', protocol: 'y-websocket', afterLastLeave: 'discards', stateless: true },
]

/** What the yrelay processes store into: a directory for one, a radosgw bucket for the other. */
export interface StoreTargets {
  dataDir: string
  s3: () => Promise<S3Server>
  /** The redis-server of scenarios with two relays. */
  redis: () => Promise<RedisServer>
}

export interface RunningServer {
  spec: ServerSpec
  pid: number
  /** The WebSocket URL a client of this server opens for `room`. */
  url(room: string): string
  /** Documents the server holds open, for servers that report it (yrelay's /readyz). */
  openRooms?: () => Promise<number>
  /** Exit code or signal if the process ended by itself, for crash reports. */
  crashed(): string | null
  /** The end of the process's output, for error messages. */
  outputTail(): string
  stop(): Promise<void>
}

const START_TIMEOUT_MS = 30_000
const STOP_TIMEOUT_MS = 10_000
const OUTPUT_TAIL_CHARS = 4000

/**
 * Compiles what the servers run: yrelay with `npm run build` (dist/server/), and the wrappers
 * that start the reference servers and the floor (dist/bench/), so no server carries a
 * TypeScript loader in its process.
 */
export async function buildServers(): Promise<void> {
  await promisify(execFile)('npm', ['run', 'build'], { cwd: ROOT })
  await build({
    entryPoints: ['bench/reference-server.ts', 'bench/hocuspocus-server.ts', 'bench/floor-server.ts'].map((f) => ROOT + f),
    outdir: `${ROOT}dist/bench`,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
  })
}

async function launch(script: string[], env: Record<string, string>, readyLine: string): Promise<{ pid: number; port: number } & Pick<RunningServer, 'crashed' | 'outputTail' | 'stop'>> {
  const port = await freePort()
  const proc = spawn(process.execPath, [...(process.env.BENCH_NODE_FLAGS ? process.env.BENCH_NODE_FLAGS.split(' ') : []), ...script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', TMPDIR: process.env.TMPDIR ?? '/tmp', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const collect = (d: Buffer) => (output = (output + d.toString()).slice(-OUTPUT_TAIL_CHARS))
  proc.stdout.on('data', collect)
  proc.stderr.on('data', collect)
  let stopping = false
  const exited = once(proc, 'exit').then(([code, signal]) => `${code ?? signal}`)
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script.join(' ')} did not start within ${START_TIMEOUT_MS} ms:\n${output}`)), START_TIMEOUT_MS)
    const check = () => {
      if (output.includes(readyLine)) {
        clearTimeout(timer)
        resolve()
      }
    }
    proc.stdout.on('data', check)
    proc.stderr.on('data', check)
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`${script.join(' ')} exited with ${code} before listening:\n${output}`))
    })
  })
  let exitReason: string | null = null
  void exited.then((reason) => {
    if (!stopping) exitReason = reason
  })
  return {
    pid: proc.pid!,
    port,
    crashed: () => exitReason,
    outputTail: () => output,
    stop: async () => {
      stopping = true
      if (proc.exitCode !== null || proc.signalCode !== null) return
      proc.kill('SIGTERM')
      const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS)
      await exited
      clearTimeout(timer)
    },
  }
}

/** yrelay's command line as `npm start` runs it, node flags included, so the run measures what users run. */
export async function npmStartArgs(): Promise<string[]> {
  const start = (JSON.parse(await readFile(`${ROOT}package.json`, 'utf8')) as { scripts: { start: string } }).scripts.start
  const [node, ...args] = start.split(' ')
  if (node !== 'node') throw new Error(`package.json's start script should run node, not: ${start}`)
  return args
}

async function openRoomsOf(port: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`)
  const body = (await res.json()) as { rooms?: unknown }
  if (typeof body.rooms !== 'number') throw new Error(`/readyz answered ${res.status} without a room count: ${JSON.stringify(body)}`)
  return body.rooms
}

/** `env` adds variables for yrelay (REDIS_URL for a second relay sharing rooms). */
export async function startServer(spec: ServerSpec, stores: StoreTargets, env: Record<string, string> = {}): Promise<RunningServer> {
  switch (spec.id) {
    case 'yrelay-dir':
    case 'yrelay-s3': {
      const storeEnv: Record<string, string> = { DATA_DIR: stores.dataDir }
      if (spec.id === 'yrelay-s3') {
        const s3 = await stores.s3()
        Object.assign(storeEnv, {
          S3_ENDPOINT: s3.endpoint,
          S3_REGION: s3.region,
          S3_ACCESS_KEY_ID: s3.accessKeyId,
          S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
          S3_BUCKET: 'bench',
          S3_FORCE_PATH_STYLE: 'true',
        })
      }
      // The burst sends 10,000 updates as fast as one client can, past the default limit of 1,000
      // per second per connection; a limit this high keeps the limiter's cost in the figures.
      const limits = { LIMIT_UPDATES_PER_SECOND: '1000000' }
      const proc = await launch(await npmStartArgs(), { HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...limits, ...storeEnv, ...env }, 'yrelay listening on')
      return { spec, ...proc, url: (room) => `ws://127.0.0.1:${proc.port}/v1/sync/${room}`, openRooms: () => openRoomsOf(proc.port) }
    }
    case 'reference': {
      const proc = await launch(['dist/bench/reference-server.js'], {}, 'reference listening on')
      return { spec, ...proc, url: (room) => `ws://127.0.0.1:${proc.port}/${room}` }
    }
    case 'hocuspocus': {
      const proc = await launch(['dist/bench/hocuspocus-server.js'], {}, 'hocuspocus listening on')
      // The document name travels inside every message, not in the URL.
      return { spec, ...proc, url: () => `ws://127.0.0.1:${proc.port}` }
    }
    case 'floor': {
      const proc = await launch(['dist/bench/floor-server.js'], {}, 'floor listening on')
      return { spec, ...proc, url: (room) => `ws://127.0.0.1:${proc.port}/${room}` }
    }
  }
}
