/**
 * `yrelay import <file|dir> [--prefix p]`: binary Yjs updates into the configured store, each
 * written as one log object of its document. A directory's `<name>.bin` files (as export
 * writes them) become documents named `<p><name>`; a single file `<p><file name>`. Importing
 * into a document that exists merges (Yjs updates commute), so running it twice is harmless.
 * A relay that has the document open sees the import when it loads the document again.
 */
import { readdir, readFile, stat } from 'node:fs/promises'
import { basename, join, relative, sep } from 'node:path'
import * as Y from 'yjs'
import { checkDocName } from '../../shared/doc-name.js'
import { refOfName } from '../docs/doc-index.js'
import { formatBytes, type AdminContext } from './context.js'
import { progress } from './progress.js'

const SUFFIX = '.bin'

async function binFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries
    .filter((e) => e.isFile() && e.name.endsWith(SUFFIX))
    .map((e) => join(e.parentPath, e.name))
    .sort()
}

/** Why a name cannot be imported on this relay, or null. */
function nameProblem(name: string, tenancy: 'single' | 'multi'): string | null {
  const check = checkDocName(name)
  if (!check.ok) return check.reason
  if (tenancy === 'multi' && !/^(users|teams|spaces)\/[^/]+\/.+/.test(name)) {
    return 'on a multi-tenant store documents live under users/<id>/, teams/<id>/ or spaces/<id>/ (use --prefix)'
  }
  return null
}

export async function importCommand(ctx: AdminContext, source: string, prefix: string): Promise<boolean> {
  const info = await stat(source).catch(() => null)
  if (!info) {
    process.stderr.write(`yrelay: ${source}: no such file or directory\n`)
    return false
  }
  const files = info.isDirectory()
    ? (await binFiles(source)).map((file) => ({ file, name: prefix + relative(source, file).split(sep).join('/').slice(0, -SUFFIX.length) }))
    : [{ file: source, name: prefix + basename(source).replace(/\.bin$/, '') }]
  // Every name is checked before anything is written: an import is all or nothing up front.
  const problems = files.flatMap(({ file, name }) => {
    const problem = nameProblem(name, ctx.tenancy)
    return problem ? [`${file}: document name ${JSON.stringify(name)}: ${problem}`] : []
  })
  if (problems.length > 0) {
    process.stderr.write(`yrelay: nothing imported:\n${problems.map((p) => `  ${p}`).join('\n')}\n`)
    return false
  }
  const bar = progress('import', files.length)
  let bytes = 0
  try {
    for (const [i, { file, name }] of files.entries()) {
      const update = new Uint8Array(await readFile(file))
      try {
        Y.decodeUpdate(update)
      } catch {
        throw new Error(`${file} is not a binary Yjs update; the ${i} file(s) before it were imported`)
      }
      await ctx.docs.appendLog(refOfName(name, ctx.tenancy), update)
      bytes += update.byteLength
      bar.tick()
    }
  } finally {
    bar.stop()
  }
  ctx.out(`imported ${files.length} document(s) (${formatBytes(bytes)})`)
  return true
}
