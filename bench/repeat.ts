/**
 * Repeated runs of one scenario on one server, combined into the one outcome the table shows:
 * each figure is the median of the runs, so one run disturbed by the machine moves nothing.
 * Every run's figures and details stay in latest.json.
 */
import type { Outcome } from './report.js'

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

export function combineRuns(runs: Outcome[]): Outcome {
  if (runs.length === 1) return runs[0]!
  const measured = runs.flatMap((o) => (o.status === 'n/a' ? [] : [o]))
  if (measured.length < runs.length) return runs.find((o) => o.status === 'n/a')!
  const seconds = measured.reduce((sum, o) => sum + o.seconds, 0)
  const loadgenCpuMs = measured.reduce((sum, o) => sum + o.loadgenCpuMs, 0)
  const failed = measured.findIndex((o) => o.status === 'error')
  const error = measured[failed]
  if (error?.status === 'error') return { status: 'error', error: `run ${failed + 1} of ${runs.length}: ${error.error}`, seconds, loadgenCpuMs }
  const ok = measured.flatMap((o) => (o.status === 'ok' ? [o] : []))
  const figures: Record<string, number> = {}
  for (const key of Object.keys(ok[0]!.figures)) figures[key] = median(ok.map((o) => o.figures[key]!))
  const note = ok.find((o) => o.note)?.note
  return {
    status: 'ok',
    figures,
    details: { medianOfRuns: ok.length, runs: ok.map((o) => ({ figures: o.figures, ...o.details })) },
    ...(note ? { note } : {}),
    seconds,
    loadgenCpuMs,
  }
}
