/**
 * `yrelay <command>`. Flags of `serve` mirror environment variables: `--flush-ms 500` sets FLUSH_MS.
 *   serve    run the relay (default)
 *   token    mint a token from AUTH_JWT_SECRET
 */
import { parseArgs } from 'node:util'
import { z } from 'zod'
import { createAccess } from './auth/create-access.js'
import { membershipEntrySchema } from './auth/access.js'
import { mintToken } from './auth/mint-token.js'
import { ConfigError, configSchema, loadConfig } from './config.js'
import { randomInstanceId } from './docs/seq.js'
import { createLogger } from './logger.js'
import { Relay } from './relay/relay.js'
import { createStore } from './store/create-store.js'

const USAGE = `usage: yrelay [serve] [--port 8787] [--host 127.0.0.1] [--data-dir ./data] [--<variable> value ...]
       yrelay token --sub <user> [--team <id>:<role>]... [--space <id>:<role>]... [--role <role>] [--expires-in <seconds>]
Every environment variable in the README's configuration table is also a flag of serve;
token signs with AUTH_JWT_SECRET (and sets AUTH_ISSUER / AUTH_AUDIENCE when configured).`

/** `--team t7:editor` → {id: 't7', role: 'editor'}, checked by the same schema as token claims. */
const membershipFlag = z
  .string()
  .transform((v) => ({ id: v.slice(0, v.lastIndexOf(':')), role: v.slice(v.lastIndexOf(':') + 1) }))
  .pipe(membershipEntrySchema)

async function token(args: string[]): Promise<void> {
  let values: Record<string, unknown>
  try {
    values = parseArgs({
      args,
      options: {
        sub: { type: 'string' },
        team: { type: 'string', multiple: true },
        space: { type: 'string', multiple: true },
        role: { type: 'string' },
        'expires-in': { type: 'string', default: '3600' },
      },
      strict: true,
    }).values
  } catch (err) {
    throw new ConfigError([(err as Error).message, USAGE])
  }
  const parsed = z
    .object({
      sub: z.string({ message: 'required (the user id)' }).min(1),
      team: z.array(membershipFlag).default([]),
      space: z.array(membershipFlag).default([]),
      role: z.enum(['owner', 'editor', 'viewer']).optional(),
      'expires-in': z.coerce.number().int().positive().max(366 * 24 * 3600),
    })
    .safeParse(values)
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const flag = String(i.path[0])
        const format = flag === 'team' || flag === 'space' ? ` (write --${flag} <id>:<owner|editor|viewer>)` : ''
        return `--${flag}: ${i.message}${format}`
      }),
    )
  }
  const secret = process.env.AUTH_JWT_SECRET
  if (!secret || secret.length < 32) throw new ConfigError(['AUTH_JWT_SECRET: set it (32+ characters) to the secret the relay verifies with'])
  const t = parsed.data
  process.stdout.write(
    `${await mintToken({
      secret,
      sub: t.sub,
      teams: t.team,
      spaces: t.space,
      role: t.role,
      expiresInSeconds: t['expires-in'],
      issuer: process.env.AUTH_ISSUER,
      audience: process.env.AUTH_AUDIENCE,
    })}\n`,
  )
}

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
  const logger = createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT })
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
  // For the person who started it, on stderr: stdout carries only log lines (one JSON object each).
  process.stderr.write(`yrelay listening on ${url}/<document>  (health: ${url.replace('ws://', 'http://').replace('/v1/sync', '/healthz')})\n`)

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
  if (process.argv[2] === 'token') {
    await token(process.argv.slice(3))
    return
  }
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
