/**
 * `yrelay <command>`. Flags mirror environment variables: `--flush-ms 500` sets FLUSH_MS.
 *   serve    run the relay (default)
 */
import { createAccess } from './auth/create-access.js'
import { ConfigError, configSchema, loadConfig } from './config.js'
import { randomInstanceId } from './docs/seq.js'
import { createLogger } from './logger.js'
import { Relay } from './relay/relay.js'
import { createStore } from './store/create-store.js'

const USAGE = `usage: yrelay [serve] [--port 8787] [--host 127.0.0.1] [--data-dir ./data] [--<variable> value ...]
Every environment variable in the README's configuration table is also a flag.`

function flagsToEnv(args: string[]): { command: string; env: Record<string, string> } {
  const env: Record<string, string> = {}
  let command = 'serve'
  const known = new Set(Object.keys(configSchema.shape))
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (!arg.startsWith('--')) {
      command = arg
      continue
    }
    const [flag, inline] = arg.slice(2).split('=', 2) as [string, string | undefined]
    const name = flag.toUpperCase().replaceAll('-', '_')
    if (flag === 'help') throw new ConfigError([USAGE])
    if (!known.has(name)) throw new ConfigError([`--${flag}: unknown flag (${USAGE.split('\n')[0]})`])
    const value = inline ?? args[++i]
    if (value === undefined) throw new ConfigError([`--${flag}: needs a value`])
    env[name] = value
  }
  return { command, env }
}

async function serve(env: Record<string, string | undefined>): Promise<void> {
  const config = loadConfig(env)
  const logger = createLogger(config.LOG_LEVEL)
  const store = createStore(config)
  const capabilities = await store.init()
  logger.info({ store: capabilities }, `storage ready: ${capabilities.description}`)
  const instanceId = config.INSTANCE_ID ?? randomInstanceId()
  const access = createAccess(config)
  if (!access.authenticates) {
    logger.warn({ authMode: 'none', host: config.HOST }, 'AUTHENTICATION IS OFF: anyone who can reach this port can read and write every document')
  }
  const relay = new Relay({ config, store, access, instanceId, logger })
  const { url } = await relay.listen()
  logger.info({ url, instanceId }, `yrelay listening on ${url}`)
  process.stdout.write(`yrelay listening on ${url}/<document>  (health: ${url.replace('ws://', 'http://').replace('/v1/sync', '/healthz')})\n`)

  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'draining')
    relay
      .drain()
      .then(
        () => {
          logger.info('drained; every accepted update is stored')
          return 0
        },
        (err: unknown) => {
          logger.error({ err }, 'drain incomplete')
          return 1
        },
      )
      .then(async (code) => {
        await store.close()
        logger.flush()
        process.exit(code)
      })
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

async function main(): Promise<void> {
  const { command, env } = flagsToEnv(process.argv.slice(2))
  if (command !== 'serve') throw new ConfigError([`unknown command "${command}"`, USAGE])
  await serve({ ...process.env, ...env })
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`yrelay: ${err.message}\n`)
    process.exit(2)
  }
  process.stderr.write(`yrelay: could not start: ${(err as Error).message}\n`)
  process.exit(1)
})
