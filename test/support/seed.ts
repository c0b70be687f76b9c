/**
 * Seeds for randomized tests: SEED=<n> replays a run; otherwise a fresh seed is drawn. Every
 * randomized test prints its seed so a failure can be replayed exactly.
 */
import * as prng from 'lib0/prng'

export type Rng = prng.PRNG

export function testSeed(name: string): { seed: number; rng: Rng } {
  const fromEnv = process.env.SEED
  const seed = fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) : Math.floor(Math.random() * 2 ** 31)
  if (!Number.isSafeInteger(seed)) throw new Error(`SEED must be an integer, got ${JSON.stringify(fromEnv)}`)
  console.log(`[${name}] seed ${seed} (replay with SEED=${seed})`)
  return { seed, rng: prng.create(seed) }
}

/** True in the long mode (`npm run test:chaos`): more cycles, longer outages, more frames. */
export const LONG = process.env.CHAOS === 'long'

export function int(rng: Rng, min: number, max: number): number {
  return prng.int53(rng, min, max)
}

export function pick<T>(rng: Rng, items: readonly T[]): T {
  return prng.oneOf(rng, items as T[])
}

export function chance(rng: Rng, p: number): boolean {
  return prng.real53(rng) < p
}

export function bytes(rng: Rng, length: number): Uint8Array {
  return prng.uint8Array(rng, length)
}
