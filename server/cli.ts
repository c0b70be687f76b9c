/**
 * `yrelay <command>`. Configuration flags mirror environment variables: `--flush-ms 500` sets FLUSH_MS.
 *   serve    run the relay (default)
 *   token    mint a token from AUTH_JWT_SECRET
 *   inspect, export, import, compact, usage, enforce-limits, gc   admin commands on the store (server/admin/)
 */
import { parseArgs } from 'node:util'
import { z } from 'zod'
import { compactCommand } from './admin/compact.js'
import { enforceLimitsCommand } from './admin/enforce-limits.js'
import { openAdmin } from './admin/context.js'
import { DEFAULT_MIN_AGE, gcCommand, parseDuration } from './admin/gc.js'
import { exportCommand } from './admin/export.js'
import { importCommand } from './admin/import.js'
import { inspectCommand } from './admin/inspect.js'
import { usageCommand } from './admin/usage.js'
import { createAccess } from './auth/create-access.js'
import { createCluster } from './cluster/create-cluster.js'
import { membershipEntrySchema } from './auth/access.js'
import { mintToken } from './auth/mint-token.js'
import { ConfigError, configSchema, loadConfig } from './config.js'
import { randomInstanceId } from './docs/seq.js'
import { createLogger } from './logger.js'
import { Relay } from './relay/relay.js'
import { createBlobSigner, createStore } from './store/create-store.js'

const USAGE = `usage: yrelay [serve] [--port 8787] [--host 127.0.0.1] [--data-dir ./data] [--<variable> value ...]
       yrelay token --sub <user> [--team <id>:<role>]... [--space <id>:<role>]... [--role <role>] [--expires-in <seconds>]
       yrelay inspect <doc> [--json]
       yrelay export <doc|prefix|/> <file|dir>
       yrelay import <file|dir> [--prefix <p>]
       yrelay compact <doc|prefix|/>
       yrelay usage <scope|/> [--json]
       yrelay enforce-limits --scope <scope|/> [--prefix <p>/] --max <n> [--dry-run]
       yrelay gc [--min-age 7d] [--dry-run]
Every environment variable in the README's configuration table is also a flag;
token signs with AUTH_JWT_SECRET (and sets AUTH_ISSUER / AUTH_AUDIENCE when configured);
the admin commands work on the store serve would use (S3_* or DATA_DIR); "/" names every document.`

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

/** Flags of the admin commands, apart from the configuration flags every command takes. */
const COMMAND_FLAGS: Record<string, 'boolean' | 'string'> = {
  json: 'boolean',
  prefix: 'string',
  scope: 'string',
  max: 'string',
  'dry-run': 'boolean',
  'min-age': 'string',
}

interface CommandLine {
  command: string
  positionals: string[]
  env: Record<string, string>
  flags: { json?: boolean; prefix?: string; scope?: string; max?: string; 'dry-run'?: boolean; 'min-age'?: string }
}

function parseCommandLine(args: string[]): CommandLine {
  const line: CommandLine = { command: 'serve', positionals: [], env: {}, flags: {} }
  const known = new Set(Object.keys(configSchema.shape))
  let commandSeen = false
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (!arg.startsWith('--')) {
      if (commandSeen) line.positionals.push(arg)
      else line.command = arg
      commandSeen = true
      continue
    }
    const [flag, inline] = arg.slice(2).split('=', 2) as [string, string | undefined]
    if (flag === 'help') throw new ConfigError([USAGE])
    if (COMMAND_FLAGS[flag] === 'boolean') {
      ;(line.flags as Record<string, boolean>)[flag] = true
      continue
    }
    const value = inline ?? args[++i]
    if (value === undefined) throw new ConfigError([`--${flag}: needs a value`])
    if (COMMAND_FLAGS[flag] === 'string') {
      ;(line.flags as Record<string, string>)[flag] = value
      continue
    }
    const name = flag.toUpperCase().replaceAll('-', '_')
    if (!known.has(name)) throw new ConfigError([`--${flag}: unknown flag (${USAGE.split('\n')[0]})`])
    line.env[name] = value
  }
  return line
}

const ARITY: Record<string, number> = { serve: 0, inspect: 1, export: 2, import: 1, compact: 1, usage: 1, 'enforce-limits': 0, gc: 0 }

/** Runs an admin command; resolves with the exit code. */
async function admin(line: CommandLine, env: Record<string, string | undefined>): Promise<number> {
  const config = loadConfig(env)
  const minAge = line.flags['min-age'] ?? DEFAULT_MIN_AGE
  const minAgeMs = parseDuration(minAge)
  if (minAgeMs === null) throw new ConfigError([`--min-age: ${JSON.stringify(minAge)} is not a duration; write a whole number and a unit, e.g. 7d, 12h, 30m or 0s`])
  const ctx = await openAdmin(config, { create: line.command === 'import' })
  try {
    const [first = '', second = ''] = line.positionals
    switch (line.command) {
      case 'inspect':
        return (await inspectCommand(ctx, first, { json: line.flags.json ?? false })) ? 0 : 1
      case 'export':
        return (await exportCommand(ctx, first, second)) ? 0 : 1
      case 'import':
        return (await importCommand(ctx, first, line.flags.prefix ?? '')) ? 0 : 1
      case 'usage':
        return (await usageCommand(ctx, first, { json: line.flags.json ?? false })) ? 0 : 1
      case 'enforce-limits': {
        const { scope = '', prefix = '', max = '', 'dry-run': dryRun = false } = line.flags
        return (await enforceLimitsCommand(ctx, { scope, prefix, max: max === '' ? Number.NaN : Number(max), dryRun })) ? 0 : 1
      }
      case 'gc':
        return (await gcCommand(ctx, { dryRun: line.flags['dry-run'] ?? false, minAgeMs })) ? 0 : 1
      default:
        return (await compactCommand(ctx, first)) ? 0 : 1
    }
  } finally {
    await ctx.close()
  }
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
  const cluster = await createCluster(config, instanceId, logger)
  if (config.CLUSTER !== 'off') logger.info({ cluster: config.CLUSTER }, `sharing documents with other relays (${config.CLUSTER})`)
  const relay = new Relay({ config, store, access, instanceId, logger, cluster, signer: createBlobSigner(config) })
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
  const line = parseCommandLine(process.argv.slice(2))
  const arity = ARITY[line.command]
  if (arity === undefined) throw new ConfigError([`unknown command "${line.command}"`, USAGE])
  if (line.positionals.length !== arity) {
    throw new ConfigError([`${line.command}: expects ${arity} argument(s), got ${line.positionals.length}`, USAGE])
  }
  const env = { ...process.env, ...line.env }
  if (line.command === 'serve') await serve(env)
  else process.exitCode = await admin(line, env)
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`yrelay: ${err.message}\n`)
    process.exit(2)
  }
  const what = ['serve', 'token'].includes(process.argv[2] ?? 'serve') || (process.argv[2] ?? '').startsWith('--') ? 'could not start' : `${process.argv[2]} failed`
  process.stderr.write(`yrelay: ${what}: ${(err as Error).message}\n`)
  process.exit(1)
})
