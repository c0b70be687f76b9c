/** The flush-write queue: one write at a time while that keeps up, more when writes wait too long. */
import { describe, expect, it } from 'vitest'
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
