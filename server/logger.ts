/** Structured logs (pino): one JSON line per event; secrets are redacted by path. */
import { pino, type Logger } from 'pino'

export type { Logger }

/**
 * Logs go through process.stdout rather than pino's default sonic-boom destination, which
 * retries a write to a pipe whose reader is gone (EPIPE) forever and so froze the whole relay
 * when its log collector died. A relay must keep serving without anyone reading its logs.
 */
export function createLogger(level: string): Logger {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err
  })
  return pino(
    {
      level,
      base: { service: 'yrelay' },
      redact: {
        paths: ['token', '*.token', 'secret', '*.secret', '*.secretAccessKey', 'authorization', '*.authorization'],
        censor: '[redacted]',
      },
    },
    process.stdout,
  )
}
