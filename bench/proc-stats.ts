/**
 * CPU and memory of a server process read from /proc, so no server needs a stats hook and
 * every server is measured the same way.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { sleep } from './timing.js'

const CLOCK_TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
const TICK_MS = 1000 / CLOCK_TICKS_PER_SECOND

/** utime + stime of /proc/<pid>/stat in ms: every thread, ended ones included, in 10 ms ticks. */
function tickCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the parenthesised command name, which may itself contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS
}

/** Nanoseconds on CPU per live thread, from /proc/<pid>/task/<tid>/schedstat. */
function threadCpuNs(pid: number): Map<string, number> {
  const threads = new Map<string, number>()
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      threads.set(tid, Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]))
    } catch {
      // The thread ended between listing and reading.
    }
  }
  return threads
}

/**
 * CPU a process uses from now on. Per-thread scheduler time is exact to the nanosecond, which
 * idle connections need (ticks of 10 ms are too coarse), but a thread takes its time with it
 * when it ends: if one did, the tick count, which keeps it, is used instead.
 */
export class CpuMeter {
  private readonly startTicksMs: number
  private readonly startThreads: Map<string, number>

  constructor(private readonly pid: number) {
    this.startTicksMs = tickCpuMs(pid)
    this.startThreads = threadCpuNs(pid)
  }

  elapsedMs(): number {
    const threads = threadCpuNs(this.pid)
    const ticksMs = tickCpuMs(this.pid) - this.startTicksMs
    let ns = 0
    for (const [tid, now] of threads) ns += now - (this.startThreads.get(tid) ?? 0)
    const lostThread = [...this.startThreads.keys()].some((tid) => !threads.has(tid))
    return lostThread || ticksMs > ns / 1e6 + 2 * TICK_MS ? ticksMs : ns / 1e6
  }
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
    try {
      this.peak = Math.max(this.peak, rssBytes(this.pid))
    } catch {
      // The process ended (a crash the scenario reports); the peak so far stands.
    }
  }

  /** Stops sampling and returns the highest RSS seen, in bytes. */
  stop(): number {
    clearInterval(this.timer)
    this.sample()
    return this.peak
  }
}

const IDLE_SLICE_MS = 250
/** CPU share under which a slice counts as idle. */
const IDLE_SHARE = 0.01

/**
 * Waits until the process goes idle (one slice under 1% CPU) after at least `minMs`, so work a
 * server defers (flushes, debounced hooks) is counted. Returns false if still busy after `maxMs`.
 */
export async function untilIdle(pid: number, minMs: number, maxMs: number): Promise<boolean> {
  const started = performance.now()
  for (;;) {
    const slice = new CpuMeter(pid)
    await sleep(IDLE_SLICE_MS)
    const elapsed = performance.now() - started
    if (elapsed >= minMs && slice.elapsedMs() < IDLE_SLICE_MS * IDLE_SHARE) return true
    if (elapsed >= maxMs) return false
  }
}
