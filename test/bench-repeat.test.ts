/** How the benchmark folds repeated runs of a scenario into the one cell the table shows. */
import { describe, expect, it } from 'vitest'
import type { Outcome } from '../bench/report.js'
import { combineRuns } from '../bench/repeat.js'

function ok(cpu: number, wall: number): Outcome {
  return { status: 'ok', figures: { cpu, wall }, details: { updates: 10 }, seconds: 2, loadgenCpuMs: 100 }
}

describe('combineRuns', () => {
  it('keeps a single run as it is', () => {
    const one = ok(5, 9)
    expect(combineRuns([one])).toBe(one)
  })

  it('takes each figure’s median on its own, keeps every run and sums the time spent', () => {
    const combined = combineRuns([ok(80, 3), ok(40, 5), ok(60, 1), ok(100, 4), ok(50, 2)])
    expect(combined).toMatchObject({ status: 'ok', figures: { cpu: 60, wall: 3 }, seconds: 10, loadgenCpuMs: 500 })
    expect(combined.status === 'ok' && combined.details).toEqual({
      medianOfRuns: 5,
      runs: [80, 40, 60, 100, 50].map((cpu, i) => ({ figures: { cpu, wall: [3, 5, 1, 4, 2][i] }, updates: 10 })),
    })
  })

  it('averages the middle two of an even number of runs', () => {
    expect(combineRuns([ok(10, 1), ok(40, 1), ok(20, 1), ok(30, 1)])).toMatchObject({ figures: { cpu: 25, wall: 1 } })
  })

  it('reports a failed run, naming which, instead of a median of the others', () => {
    const failed: Outcome = { status: 'error', error: 'server exited', seconds: 1, loadgenCpuMs: 5 }
    expect(combineRuns([ok(1, 1), failed, ok(2, 2)])).toEqual({ status: 'error', error: 'run 2 of 3: server exited', seconds: 5, loadgenCpuMs: 205 })
  })
})
