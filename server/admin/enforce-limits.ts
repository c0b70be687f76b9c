/**
 * `yrelay enforce-limits --scope users/<id>/ --prefix profiles/ --max N [--dry-run]`: the
 * downgrade path. When a plan shrinks, the documents under the prefix beyond the first N are
 * deleted the way the API deletes them (tombstone first, then the objects), newest first.
 * "Newest" is the document whose oldest stored object is newest: after a compaction that is
 * the snapshot's time, so a long-lived document that was compacted recently can count as newer
 * than it is. Run it with relays stopped, or expect open rooms to learn of it on their next load.
 */
import { isScopeKey } from '../auth/access.js'
import { deleteDocObjects } from '../docs/doc-deletion.js'
import { listDocuments, type DocObjects } from '../docs/doc-index.js'
import { Tombstones } from '../docs/tombstones.js'
import type { AdminContext } from './context.js'
import { progress } from './progress.js'

export interface EnforceOptions {
  scope: string
  prefix: string
  max: number
  dryRun: boolean
}

function oldestObject(doc: DocObjects): number {
  return Math.min(...[...doc.snapshots, ...doc.logs].map((o) => o.lastModified.getTime()))
}

export async function enforceLimitsCommand(ctx: AdminContext, options: EnforceOptions): Promise<boolean> {
  const scope = options.scope === '/' ? '' : options.scope
  if (!isScopeKey(scope) || (scope === '') !== (ctx.tenancy === 'single')) {
    process.stderr.write(`yrelay: enforce-limits: --scope ${JSON.stringify(options.scope)} is not a scope of this ${ctx.tenancy}-tenant store\n`)
    return false
  }
  if (!Number.isInteger(options.max) || options.max < 0) {
    process.stderr.write('yrelay: enforce-limits: --max must be a whole number of documents to keep (e.g. --max 3)\n')
    return false
  }
  if (options.prefix !== '' && !/^([A-Za-z0-9_-][A-Za-z0-9._-]{0,127}\/)+$/.test(options.prefix)) {
    process.stderr.write('yrelay: enforce-limits: --prefix must be path segments ending with "/" (e.g. --prefix profiles/)\n')
    return false
  }
  const docs: DocObjects[] = []
  for await (const doc of listDocuments(ctx.store, scope + options.prefix, ctx.tenancy)) {
    if (doc.ref.scope === scope && doc.ref.path.startsWith(options.prefix)) docs.push(doc)
  }
  docs.sort((a, b) => oldestObject(a) - oldestObject(b))
  const doomed = docs.slice(options.max)
  ctx.out(`${docs.length} document(s) under ${scope}${options.prefix}; limit ${options.max}; ${doomed.length} to delete${options.dryRun ? ' (dry run: nothing deleted)' : ''}`)
  if (doomed.length === 0) return true
  const tombstones = new Tombstones(ctx.store)
  const bar = progress('enforce-limits', doomed.length)
  try {
    for (const doc of doomed) {
      if (!options.dryRun) {
        await tombstones.markDoc(doc.ref, 'yrelay enforce-limits')
        await deleteDocObjects(ctx.store, doc.ref)
      }
      ctx.out(`${options.dryRun ? 'would delete' : 'deleted'} ${doc.name} (oldest object ${new Date(oldestObject(doc)).toISOString()})`)
      bar.tick()
    }
  } finally {
    bar.stop()
  }
  return true
}
