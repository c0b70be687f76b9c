/** Relays for tests: in-process (to count store requests) or as real child processes. */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { pino } from 'pino'
import { AccessPolicy } from '../../server/auth/access.js'
import { Relay, type RelayConfig } from '../../server/relay/relay.js'
import type { ObjectStore } from '../../server/store/object-store.js'
import { loadConfig } from '../../server/config.js'
import { freePort } from './s3-server.js'
import { signerFor } from './stores.js'

export const ROOT = new URL('../../', import.meta.url).pathname

/** The relay's defaults (as `npm start` runs it), on a free port and flushing sooner. */
export const TEST_RELAY_CONFIG: RelayConfig = { ...loadConfig({}), PORT: 0, FLUSH_MS: 200 }

export interface InProcessRelay {
  relay: Relay
  url: string
  port: number
  stop(): Promise<void>
}

export async function startRelay(store: ObjectStore, config: Partial<RelayConfig> = {}, access = new AccessPolicy({ tenancy: 'single', key: null })): Promise<InProcessRelay> {
  const relay = new Relay({
    config: { ...TEST_RELAY_CONFIG, ...config },
    store,
    access,
    signer: signerFor(store),
    instanceId: `t${Math.random().toString(36).slice(2, 8)}`,
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
  })
  const { url, port } = await relay.listen()
  return { relay, url, port, stop: () => relay.drain() }
}

export interface RelayProcess {
  proc: ChildProcess
  url: string
  port: number
  /** Everything the process wrote, for assertions and failure messages. */
  output(): string
  /** Sends the signal and resolves with the exit code (null when killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

/**
 * Runs `yrelay serve` as its own process, as a user would, and waits until it listens: the
 * TypeScript sources through tsx, or with `entry` another script (the build's dist/server/cli.js).
 */
export async function spawnRelay(env: Record<string, string>, port?: number, entry: string[] = ['--import', 'tsx', 'server/cli.ts']): Promise<RelayProcess & { stdout(): string }> {
  const listenPort = port ?? (await freePort())
  const proc = spawn(process.execPath, [...entry, 'serve'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', PORT: String(listenPort), HOST: '127.0.0.1', LOG_LEVEL: 'warn', FLUSH_MS: '200', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let stdout = ''
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString()
    stdout += d.toString()
  })
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()))
  const exited = once(proc, 'exit').then(([code]) => code as number | null)
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`relay did not start within 30 s:\n${out}`)), 30_000)
    const check = () => {
      if (out.includes('yrelay listening on')) {
        clearTimeout(timer)
        resolve()
      }
    }
    proc.stdout!.on('data', check)
    proc.stderr!.on('data', check)
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`relay exited with ${code} before listening:\n${out}`))
    })
  })
  return {
    proc,
    port: listenPort,
    url: `ws://127.0.0.1:${listenPort}/v1/sync`,
    output: () => out,
    stdout: () => stdout,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode
      proc.kill(signal)
      return exited
    },
  }
}
