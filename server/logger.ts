/** Structured logs (pino): one JSON line per event; secrets are redacted by path. */
import { pino, type Logger } from 'pino'

export type { Logger }

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'yrelay' },
    redact: {
      paths: ['token', '*.token', 'secret', '*.secret', '*.secretAccessKey', 'authorization', '*.authorization'],
      censor: '[redacted]',
    },
  })
}
