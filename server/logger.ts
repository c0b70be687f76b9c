/**
 * Structured logs (pino): one JSON line per event, secrets redacted by path; or, for a person
 * at a terminal, pino-pretty's coloured lines (LOG_FORMAT=pretty, the default on a TTY).
 */
import { pino, type Logger } from 'pino'
import pretty from 'pino-pretty'

export type { Logger }
export type LogFormat = 'json' | 'pretty'

export interface LoggerOptions {
  level: string
  /** Default: pretty when stdout is a terminal, else json. */
  format?: LogFormat
}

/** Field names whose values never reach the logs, at any depth a log call is likely to use. */
export const REDACTED_PATHS = [
  'token',
  '*.token',
  'secret',
  '*.secret',
  '*.secretAccessKey',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'adminToken',
  '*.adminToken',
]

/**
 * Logs go through process.stdout rather than pino's default sonic-boom destination, which
 * retries a write to a pipe whose reader is gone (EPIPE) forever and so froze the whole relay
 * when its log collector died. A relay must keep serving without anyone reading its logs.
 */
export function createLogger(options: LoggerOptions): Logger {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err
  })
  const format = options.format ?? (process.stdout.isTTY ? 'pretty' : 'json')
  const destination =
    format === 'pretty'
      ? pretty({ destination: process.stdout, colorize: Boolean(process.stdout.isTTY), translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' })
      : process.stdout
  return pino(
    {
      level: options.level,
      base: { service: 'yrelay' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    destination,
  )
}
