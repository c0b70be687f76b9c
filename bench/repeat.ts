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
  const notApplicable = runs.find((o) => o.status === 'n/a')
  if (notApplicable) return notApplicable
  const seconds = runs.reduce((sum, o) => sum + (o.status === 'n/a' ? 0 : o.seconds), 0)
  const loadgenCpuMs = runs.reduce((sum, o) => sum + (o.status === 'n/a' ? 0 : o.loadgenCpuMs), 0)
  const failed = runs.findIndex((o) => o.status === 'error')
  if (failed >= 0) {
    const error = runs[failed]!
    return { status: 'error', error: `run ${failed + 1} of ${runs.length}: ${error.status === 'error' ? error.error : ''}`, seconds, loadgenCpuMs }
  }
  const ok = runs.flatMap((o) => (o.status === 'ok' ? [o] : []))
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
