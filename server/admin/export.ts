/**
 * `yrelay export <doc|prefix> <file|dir>`: documents as binary Yjs updates (the whole stored
 * state of each, merged), readable by any Yjs program (`Y.applyUpdate`). One document goes to a
 * file; a prefix to a directory holding `<document name>.bin` for each.
 */
import { mkdir, stat, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { formatBytes, type AdminContext } from './context.js'
import { progress } from './progress.js'
import { ALL, resolveTargets } from './targets.js'

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isDirectory(), () => false)
}

export async function exportCommand(ctx: AdminContext, arg: string, target: string): Promise<boolean> {
  const { exact, docs } = await resolveTargets(ctx, arg)
  if (docs.length === 0) {
    process.stderr.write(`yrelay: ${arg === ALL ? 'no documents' : `no document named or starting with ${JSON.stringify(arg)}`} in this store\n`)
    return false
  }
  if (exact && !target.endsWith('/') && !(await isDirectory(target))) {
    const loaded = await ctx.docs.load(docs[0]!.ref)
    await mkdir(dirname(target), { recursive: true })
    await writeFile(target, loaded.update)
    ctx.out(`exported ${docs[0]!.name} to ${target} (${formatBytes(loaded.update.byteLength)})`)
    return true
  }
  const bar = progress('export', docs.length)
  let bytes = 0
  try {
    for (const doc of docs) {
      const loaded = await ctx.docs.load(doc.ref)
      const file = join(target, `${doc.name}.bin`)
      await mkdir(dirname(file), { recursive: true })
      await writeFile(file, loaded.update)
      bytes += loaded.update.byteLength
      bar.tick()
    }
  } finally {
    bar.stop()
  }
  ctx.out(`exported ${docs.length} document(s) to ${target} (${formatBytes(bytes)})`)
  return true
}
