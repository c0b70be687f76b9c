/**
 * CPU and memory of a server process read from /proc, so no server needs a stats hook and
 * every server is measured the same way (all threads: utime + stime, resident set size).
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

const CLOCK_TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())

/** CPU time the process has used so far, in milliseconds (user + system, all threads). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the parenthesised command name, which may itself contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12])
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND
}

/** Resident set size in bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status)
  if (!match) throw new Error(`no VmRSS for process ${pid}`)
  return Number(match[1]) * 1024
}

/** Samples RSS on a timer to catch the peak, which a single reading at the end would miss. */
export class RssPeak {
  private peak: number
  private readonly timer: NodeJS.Timeout

  constructor(
    private readonly pid: number,
    intervalMs = 50,
  ) {
    this.peak = rssBytes(pid)
    this.timer = setInterval(() => this.sample(), intervalMs)
  }

  private sample(): void {
    this.peak = Math.max(this.peak, rssBytes(this.pid))
  }

  /** Stops sampling and returns the highest RSS seen, in bytes. */
  stop(): number {
    clearInterval(this.timer)
    this.sample()
    return this.peak
  }
}
