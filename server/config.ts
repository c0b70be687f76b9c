/**
 * Relay configuration: one schema for every environment variable (and the matching CLI flag,
 * `--flush-ms` for FLUSH_MS). A bad value stops the relay with one line per problem.
 */
import { z } from 'zod'

const port = z.coerce.number().int().min(0).max(65535)
const positiveInt = z.coerce.number().int().positive()
const nonNegativeInt = z.coerce.number().int().nonnegative()
const optionalLimit = z.coerce.number().int().nonnegative().optional()
/** "profiles/=3,drafts/=50" → {"profiles/": 3, "drafts/": 50}. */
const prefixLimits = z
  .string()
  .regex(/^([A-Za-z0-9_-][A-Za-z0-9._/-]*\/=\d+)(,[A-Za-z0-9_-][A-Za-z0-9._/-]*\/=\d+)*$/, 'must be <prefix>/=<count> pairs separated by commas')
  .transform((v) => Object.fromEntries(v.split(',').map((pair) => [pair.slice(0, pair.lastIndexOf('=')), Number(pair.slice(pair.lastIndexOf('=') + 1))])))
  .optional()
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes')

export const configSchema = z.object({
  PORT: port.default(8787).describe('TCP port for WebSocket and HTTP'),
  HOST: z.string().min(1).default('127.0.0.1').describe('address to bind; 0.0.0.0 for all interfaces'),
  DATA_DIR: z.string().min(1).default('./data').describe('directory store root, used when S3_BUCKET is not set'),
  S3_ENDPOINT: z.url().optional().describe('S3 endpoint URL (MinIO, Ceph, R2); omit for AWS'),
  S3_REGION: z.string().min(1).default('us-east-1').describe('S3 region'),
  S3_ACCESS_KEY_ID: z.string().min(1).optional().describe('S3 access key id'),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional().describe('S3 secret access key'),
  S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be 3-63 lowercase letters, digits, "." or "-"')
    .optional()
    .describe('bucket name; setting it selects the S3 store'),
  S3_FORCE_PATH_STYLE: bool.default(true).describe('path-style bucket URLs (needed by MinIO and Ceph)'),
  TENANCY: z.enum(['single', 'multi']).default('single').describe('single: documents at the bucket root; multi: under users/<id>/, teams/<id>/, spaces/<id>/'),
  AUTH_MODE: z.enum(['none', 'jwt']).optional().describe('none only for local development; default none on loopback without a key, else jwt'),
  AUTH_ALLOW_NONE: bool.default(false).describe('allow AUTH_MODE=none on a non-loopback HOST (anyone who can reach the port can write)'),
  AUTH_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional().describe('HS256 secret for tokens'),
  AUTH_PUBLIC_KEY: z.string().includes('BEGIN PUBLIC KEY', { message: 'must be a PEM public key (-----BEGIN PUBLIC KEY-----)' }).optional().describe('PEM public key for RS256/ES256 tokens'),
  AUTH_JWKS_URL: z.url().optional().describe('JWKS URL for RS256/ES256 tokens (cached, refetched on an unknown kid)'),
  AUTH_ISSUER: z.string().min(1).optional().describe('required iss of tokens'),
  AUTH_AUDIENCE: z.string().min(1).optional().describe('required aud of tokens'),
  AUTH_MEMBERSHIP_URL: z.url().optional().describe('app backend asked GET <url>?sub=<user> for {teams, spaces}; fails closed'),
  AUTH_MEMBERSHIP_CACHE_MS: z.coerce.number().int().min(0).default(30_000).describe('how long a membership answer is reused'),
  FLUSH_MS: positiveInt.default(1000).describe('longest time an accepted update waits before it is written'),
  FLUSH_BYTES: positiveInt.default(1024 * 1024).describe('pending bytes per document that trigger an early flush'),
  MAX_MESSAGE_BYTES: positiveInt.default(10 * 1024 * 1024).describe('largest WebSocket message; larger ones close with 4413'),
  MAX_BUFFERED_BYTES: positiveInt
    .default(64 * 1024 * 1024)
    .describe('bytes queued for one client (to a slow reader, or from it before its document loads) before it is disconnected'),
  MAX_PENDING_BYTES: positiveInt
    .default(256 * 1024 * 1024)
    .describe('accepted bytes the relay may hold unwritten (storage slow or down); past it new writes are refused with 4507'),
  COMPACT_LOG_COUNT: positiveInt.default(50).describe('log objects per document that trigger compaction'),
  COMPACT_LOG_BYTES: positiveInt.default(8 * 1024 * 1024).describe('log bytes per document that trigger compaction'),
  SNAPSHOT_RETENTION: positiveInt.default(2).describe('snapshots kept per document, the newest included'),
  S3_PUBLIC_ENDPOINT: z.url().optional().describe('S3 endpoint as browsers reach it, for presigned blob URLs; default S3_ENDPOINT'),
  PUBLIC_URL: z.url().optional().describe('base URL clients reach this relay at, for the blob URLs it signs itself (directory store); default http://HOST:PORT'),
  BLOB_URL_TTL_SECONDS: positiveInt.max(7 * 24 * 3600).default(900).describe('lifetime of presigned blob upload and download URLs'),
  LIMIT_SCOPE_BYTES: optionalLimit.describe('bytes stored per scope (documents + blobs); a token\'s limits claim overrides it'),
  LIMIT_SCOPE_DOCUMENTS: optionalLimit.describe('documents per scope; a token\'s limits claim overrides it'),
  LIMIT_PREFIX_DOCUMENTS: prefixLimits.describe('documents per sub-prefix of a scope, e.g. "profiles/=3,drafts/=50"'),
  LIMIT_DOCUMENT_BYTES: optionalLimit.describe('largest document (bytes of its merged state)'),
  LIMIT_BLOB_BYTES: positiveInt.default(100 * 1024 * 1024).describe('largest blob accepted for upload'),
  LIMIT_UPDATES_PER_SECOND: nonNegativeInt.default(1000).describe('update messages per second per connection (token bucket of one second; 0 = off); past it the connection closes with 4529'),
  LIMIT_UPDATE_BYTES_PER_SECOND: nonNegativeInt.default(32 * 1024 * 1024).describe('update bytes per second per connection (0 = off); past it the connection closes with 4529'),
  LIMIT_CONNECTIONS: nonNegativeInt.default(20_000).describe('open WebSocket connections in all (0 = no limit)'),
  LIMIT_CONNECTIONS_PER_USER: nonNegativeInt.default(200).describe('open WebSocket connections per token subject (0 = no limit)'),
  USAGE_WEBHOOK_URL: z.url().optional().describe('POST {scope, bytes, documents} here when a scope\'s usage changes (coalesced, retried)'),
  USAGE_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional().describe('HMAC-SHA256 key for the webhook\'s x-yrelay-signature header'),
  USAGE_WEBHOOK_INTERVAL_MS: positiveInt.default(5000).describe('at most one webhook per scope per this many milliseconds'),
  INSTANCE_ID: z
    .string()
    .regex(/^[a-z0-9]{4,16}$/, 'must be 4-16 lowercase letters or digits')
    .optional()
    .describe('this relay instance in sequence numbers; random when unset'),
  ADMIN_TOKEN: z
    .string()
    .min(24, 'must be at least 24 characters (e.g. openssl rand -hex 24)')
    .optional()
    .describe('turns on the dashboard at /admin; its API needs this as a Bearer token'),
  METRICS_TOKEN: z
    .string()
    .min(24, 'must be at least 24 characters (e.g. openssl rand -hex 24)')
    .optional()
    .describe('when set, GET /metrics needs it as a Bearer token'),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\/[^/]/, 'must be a redis:// or rediss:// URL')
    .optional()
    .describe('Redis shared by many relays (redis://host:6379): rooms are fanned out to every relay that has them open'),
  REDIS_PREFIX: z.string().min(1).default('yrelay:').describe('prefix of the Redis channel names, so deployments can share one Redis'),
  CLUSTER: z
    .enum(['off', 'redis', 'poll'])
    .optional()
    .describe('how relays share documents: redis (the default when REDIS_URL is set), poll (S3 only: check open documents every POLL_MS), off'),
  POLL_MS: positiveInt.default(2000).describe('with CLUSTER=poll, how often each open document is checked for other relays\' writes'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('log level'),
  LOG_FORMAT: z.enum(['json', 'pretty']).optional().describe('json: one JSON line per event; pretty: coloured lines for people (default when stdout is a terminal)'),
})

export type Config = z.infer<typeof configSchema> & { AUTH_MODE: 'none' | 'jwt'; CLUSTER: 'off' | 'redis' | 'poll' }

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`)
    this.name = 'ConfigError'
  }
}

const EXAMPLES: Partial<Record<keyof Config, string>> = {
  PORT: '8787',
  S3_ENDPOINT: 'http://127.0.0.1:9000',
  S3_BUCKET: 'yrelay',
  S3_FORCE_PATH_STYLE: 'true',
  FLUSH_MS: '1000',
  INSTANCE_ID: 'relay1',
  REDIS_URL: 'redis://127.0.0.1:6379',
  POLL_MS: '2000',
  LIMIT_PREFIX_DOCUMENTS: 'profiles/=3',
  USAGE_WEBHOOK_URL: 'https://app.example.com/hooks/usage',
  LOG_LEVEL: 'info',
  LOG_FORMAT: 'json',
}

/** Reads the configuration from an environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const input: Record<string, string> = {}
  for (const key of Object.keys(configSchema.shape)) {
    const value = env[key]
    if (value !== undefined && value !== '') input[key] = value
  }
  const parsed = configSchema.safeParse(input)
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = String(issue.path[0]) as keyof Config
        const example = EXAMPLES[name] ? ` (e.g. ${name}=${EXAMPLES[name]})` : ''
        return `${name}: ${issue.message}${example}`
      }),
    )
  }
  const config = parsed.data
  const problems: string[] = []
  if (config.S3_BUCKET && Boolean(config.S3_ACCESS_KEY_ID) !== Boolean(config.S3_SECRET_ACCESS_KEY)) {
    problems.push('S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY: set both or neither')
  }
  if (!config.S3_BUCKET && (config.S3_ENDPOINT || config.S3_ACCESS_KEY_ID)) {
    problems.push('S3_BUCKET: required when other S3_* variables are set (e.g. S3_BUCKET=yrelay)')
  }
  const keys = [config.AUTH_JWT_SECRET && 'AUTH_JWT_SECRET', config.AUTH_PUBLIC_KEY && 'AUTH_PUBLIC_KEY', config.AUTH_JWKS_URL && 'AUTH_JWKS_URL'].filter(Boolean)
  if (keys.length > 1) problems.push(`${keys.join(', ')}: set only one way to verify tokens`)
  const mode = config.AUTH_MODE ?? (keys.length === 0 && isLoopback(config.HOST) ? 'none' : 'jwt')
  if (mode === 'jwt' && keys.length === 0) {
    problems.push('AUTH_JWT_SECRET: tokens are required (AUTH_MODE=jwt, or HOST is not loopback) but no key is set (e.g. AUTH_JWT_SECRET=<32+ random characters>)')
  }
  if (mode === 'none' && !isLoopback(config.HOST) && !config.AUTH_ALLOW_NONE) {
    problems.push(`AUTH_MODE: none on HOST=${config.HOST} would let anyone who reaches the port read and write; set a key, or AUTH_ALLOW_NONE=true to accept that`)
  }
  const cluster = config.CLUSTER ?? (config.REDIS_URL ? 'redis' : 'off')
  if (cluster === 'redis' && !config.REDIS_URL) problems.push('REDIS_URL: required with CLUSTER=redis (e.g. REDIS_URL=redis://127.0.0.1:6379)')
  if (cluster !== 'redis' && config.REDIS_URL) problems.push(`REDIS_URL: set, but CLUSTER=${cluster} does not use Redis; remove one of them`)
  if (config.USAGE_WEBHOOK_URL && !config.USAGE_WEBHOOK_SECRET) {
    problems.push('USAGE_WEBHOOK_SECRET: required with USAGE_WEBHOOK_URL so the app can verify the webhook (e.g. USAGE_WEBHOOK_SECRET=<16+ random characters>)')
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return { ...config, AUTH_MODE: mode, CLUSTER: cluster }
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
}
