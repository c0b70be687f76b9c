/**
 * A real redis-server (Debian package redis-server) on a free port, without persistence, for
 * the multi-relay tests. `stop` and `start` again on the same port mimic an outage.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { connect } from 'node:net'
import { freePort } from './s3-server.js'

const BINARY = process.env.REDIS_SERVER ?? 'redis-server'

export interface RedisServer {
  url: string
  port: number
  /** Starts it (again) on the same port. */
  start(): Promise<void>
  /** Kills it at once (SIGKILL): clients see the connection drop. */
  stop(): Promise<void>
}

export async function redisServer(): Promise<RedisServer> {
  const port = await freePort()
  let proc: ChildProcess | undefined
  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    async start() {
      const p = spawn(BINARY, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--loglevel', 'warning'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      proc = p
      let out = ''
      p.stdout!.on('data', (d: Buffer) => (out += d.toString()))
      p.stderr!.on('data', (d: Buffer) => (out += d.toString()))
      const failed = new Promise<never>((_, reject) => {
        p.once('error', (err) => reject(new Error(`could not run ${BINARY} (Debian package redis-server; .ci/run installs it): ${err.message}`)))
        p.once('exit', (code) => reject(new Error(`redis-server exited with ${code}:\n${out}`)))
      })
      failed.catch(() => {})
      await Promise.race([failed, waitForPort(port)])
    },
    async stop() {
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return
      const exited = once(proc, 'exit')
      proc.kill('SIGKILL')
      await exited
    },
  }
  await server.start()
  return server
}

async function waitForPort(port: number): Promise<void> {
  const deadline = Date.now() + 15_000
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1')
      s.once('connect', () => {
        s.end()
        resolve(true)
      })
      s.once('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > deadline) throw new Error(`redis-server did not listen on ${port} within 15 s`)
    await new Promise((r) => setTimeout(r, 50))
  }
}
