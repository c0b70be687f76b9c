/**
 * Progress of long admin work on stderr (stdout stays for results): a bar at a terminal,
 * a plain line every two seconds and at the end otherwise (cli-progress).
 */
import { SingleBar } from 'cli-progress'

export interface Progress {
  tick(): void
  stop(): void
}

export function progress(task: string, total: number, unit = 'documents'): Progress {
  const bar = new SingleBar({
    stream: process.stderr,
    format: `${task} [{bar}] {value}/{total} ${unit} | {duration_formatted} elapsed, eta {eta_formatted}`,
    noTTYOutput: true,
    notTTYSchedule: 2000,
    hideCursor: true,
  })
  bar.start(total, 0)
  return {
    tick: () => bar.increment(),
    stop: () => bar.stop(),
  }
}
