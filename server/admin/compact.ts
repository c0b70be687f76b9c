/**
 * `yrelay compact <doc|prefix>`: compacts documents now, as relays do past their thresholds
 * (a snapshot of everything stored, then the objects it contains deleted). Safe while relays
 * serve the same documents: compaction needs no lock (README, "Storage layout").
 */
import type { AdminContext } from './context.js'
import { progress } from './progress.js'
import { ALL, resolveTargets } from './targets.js'

export async function compactCommand(ctx: AdminContext, arg: string): Promise<boolean> {
  const { docs } = await resolveTargets(ctx, arg)
  if (docs.length === 0) {
    process.stderr.write(`yrelay: ${arg === ALL ? 'no documents' : `no document named or starting with ${JSON.stringify(arg)}`} in this store\n`)
    return false
  }
  const bar = progress('compact', docs.length)
  let compacted = 0
  let deleted = 0
  try {
    for (const doc of docs) {
      const result = await ctx.docs.compact(doc.ref)
      if (result) {
        compacted++
        deleted += result.deleted
      }
      bar.tick()
    }
  } finally {
    bar.stop()
  }
  ctx.out(`compacted ${compacted} of ${docs.length} document(s); ${deleted} object(s) deleted`)
  return true
}
