/** The flush-write queue: one write at a time while that keeps up, more when writes wait too long. */
import { describe, expect, it, vi } from 'vitest'
import { sleep } from './support/clients.js'
import { WriteQueue } from '../server/docs/write-queue.js'

/** Writes that take `ms` each, recording how many ran at once. */
function writer(ms: number) {
  let now = 0
  let peak = 0
  return {
    get peak() {
      return peak
    },
    write: async (label: string, out: string[]) => {
      peak = Math.max(peak, ++now)
      await sleep(ms)
      now--
      out.push(label)
    },
  }
}

describe('write queue', () => {
  it('runs writes one at a time, in order, while none waits past its patience', async () => {
    const q = new WriteQueue({ maxParallel: 16, patienceMs: 1000 })
    const w = writer(10)
    const done: string[] = []
    await Promise.all(['a', 'b', 'c', 'd'].map((l) => q.run(() => w.write(l, done))))
    expect(done).toEqual(['a', 'b', 'c', 'd'])
    expect(w.peak).toBe(1)
  })

  it('doubles parallelism while writes wait too long, up to its maximum, and steps back when the queue empties', async () => {
    const q = new WriteQueue({ maxParallel: 4, patienceMs: 5 })
    const w = writer(20)
    const done: string[] = []
    await Promise.all(Array.from({ length: 24 }, (_, i) => q.run(() => w.write(String(i), done))))
    expect(done).toHaveLength(24)
    expect(w.peak).toBe(4)
    expect(q.limit).toBeLessThan(4)
    for (let i = 0; i < 4; i++) await q.run(() => w.write('later', done))
    expect(q.limit).toBe(1)
  })

  it('does not hold other writes behind one that hangs for longer than its patience', async () => {
    const q = new WriteQueue({ maxParallel: 4, patienceMs: 20 })
    void q.run(() => new Promise<never>(() => {}))
    const started = Date.now()
    await expect(q.run(async () => 'written')).resolves.toBe('written')
    expect(Date.now() - started).toBeLessThan(1000)
  })

  it('lets a waiting write go when its patience runs out, whatever the wall clock says', async () => {
    // Both clocks count in whole milliseconds and may step (NTP): the patience timer must not
    // re-check the wait against Date.now(), or a write can wait behind a hung one for ever.
    const frozen = vi.spyOn(Date, 'now').mockReturnValue(Date.now())
    try {
      const q = new WriteQueue({ maxParallel: 4, patienceMs: 20 })
      void q.run(() => new Promise<never>(() => {}))
      const written = q.run(async () => 'written')
      const gaveUp = sleep(1000).then(() => 'still waiting after 1 s')
      expect(await Promise.race([written, gaveUp])).toBe('written')
    } finally {
      frozen.mockRestore()
    }
  })

  it('passes a failed write\'s error to its caller and frees its slot', async () => {
    const q = new WriteQueue({ maxParallel: 2, patienceMs: 1000 })
    const failing = q.run(async () => {
      await sleep(5)
      throw new Error('storage said no')
    })
    const next = q.run(async () => 'written')
    await expect(failing).rejects.toThrow('storage said no')
    await expect(next).resolves.toBe('written')
  })
})
