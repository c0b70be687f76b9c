/**
 * `yrelay gc [--dry-run] [--min-age 7d]`: removes what nothing uses any more.
 *
 * - Orphaned blobs: no document anywhere in the store mentions the blob's SHA-256 (as its key
 *   or as bare hex, in text, map keys or values, array items). Every document is read, across
 *   all scopes, because a document may point at another scope's blob. A document that cannot
 *   be read stops gc before anything is deleted: its references are unknown.
 * - Blobs that have a tombstone but are still stored (a delete interrupted half-way).
 * - Change markers (`CLUSTER=poll`) of documents that no longer have any objects.
 * - Start-up probe objects a relay left when it died probing S3.
 * - Temporary files of writes a crash interrupted (directory store).
 *
 * Everything but tombstoned blobs must also be older than --min-age: an upload reaches storage
 * before the edit that references it is synced, and an offline device may send that edit late.
 */
import { contentJson } from '../docs/content-json.js'
import { parseDocKey, type DocObjects } from '../docs/doc-index.js'
import { PROBE_PREFIX, parseBlobKey, parseBlobTombstoneKey, parseChangeMarkerKey, refName, type DocRef } from '../docs/layout.js'
import { DirectoryStore } from '../store/directory-store.js'
import { InstrumentedStore } from '../store/instrumented-store.js'
import { listAll, MAX_LIST_PAGE, type ObjectInfo } from '../store/object-store.js'
import { formatBytes, type AdminContext } from './context.js'
import { progress } from './progress.js'

export interface GcOptions {
  dryRun: boolean
  minAgeMs: number
}

const DAY_MS = 24 * 3600 * 1000
export const DEFAULT_MIN_AGE = '7d'
const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3600_000, d: DAY_MS }

/** "7d", "12h", "30m", "0s" → milliseconds; null when it is not such a duration. */
export function parseDuration(text: string): number | null {
  const m = /^(\d{1,6})([smhd])$/.exec(text)
  return m ? Number(m[1]) * UNITS[m[2]!]! : null
}

interface Inventory {
  docs: Map<string, DocObjects>
  blobs: (ObjectInfo & { scope: string; sha256: string })[]
  blobTombstones: Set<string>
  markers: (ObjectInfo & { ref: DocRef })[]
  probes: ObjectInfo[]
}

interface Doomed {
  key: string
  size: number
  reason: string
}

const SHA256_HEX = /[0-9a-f]{64}/g

/** One listing of the whole store, sorted into what gc looks at. */
async function inventory(ctx: AdminContext): Promise<Inventory> {
  const inv: Inventory = { docs: new Map(), blobs: [], blobTombstones: new Set(), markers: [], probes: [] }
  for await (const o of listAll(ctx.store, '')) {
    const doc = parseDocKey(o.key)
    if (doc) {
      const name = refName(doc.ref)
      let entry = inv.docs.get(name)
      if (!entry) inv.docs.set(name, (entry = { ref: doc.ref, name, snapshots: [], logs: [] }))
      ;(doc.kind === 'snapshot' ? entry.snapshots : entry.logs).push(o)
      continue
    }
    const blob = parseBlobKey(o.key)
    if (blob) {
      inv.blobs.push({ ...o, ...blob })
      continue
    }
    const tombstone = parseBlobTombstoneKey(o.key)
    if (tombstone) {
      inv.blobTombstones.add(tombstone.scope + tombstone.sha256)
      continue
    }
    const marker = parseChangeMarkerKey(o.key)
    if (marker) inv.markers.push({ ...o, ref: marker })
    else if (o.key.startsWith(PROBE_PREFIX)) inv.probes.push(o)
  }
  return inv
}

/** Every SHA-256 that any document's content mentions. */
async function referencedHashes(ctx: AdminContext, docs: DocObjects[]): Promise<Set<string>> {
  const seen = new Set<string>()
  const bar = progress('gc: reading documents', docs.length)
  try {
    for (const doc of docs) {
      let text: string
      try {
        text = JSON.stringify(contentJson((await ctx.docs.load(doc.ref)).update))
      } catch (err) {
        throw new Error(`could not read document ${doc.name} (${(err as Error).message}), so the blobs it may reference are unknown; nothing was deleted`, { cause: err })
      }
      for (const hash of text.match(SHA256_HEX) ?? []) seen.add(hash)
      bar.tick()
    }
  } finally {
    bar.stop()
  }
  return seen
}

export async function gcCommand(ctx: AdminContext, options: GcOptions): Promise<boolean> {
  const cutoff = Date.now() - options.minAgeMs
  const old = (o: ObjectInfo) => o.lastModified.getTime() < cutoff
  const inv = await inventory(ctx)
  let referenced: Set<string>
  try {
    referenced = await referencedHashes(ctx, [...inv.docs.values()])
  } catch (err) {
    process.stderr.write(`yrelay: gc: ${(err as Error).message}\n`)
    return false
  }

  const doomed: Doomed[] = []
  let young = 0
  for (const b of inv.blobs) {
    if (inv.blobTombstones.has(b.scope + b.sha256)) doomed.push({ key: b.key, size: b.size, reason: 'blob deleted with a tombstone but still stored' })
    else if (referenced.has(b.sha256)) continue
    else if (old(b)) doomed.push({ key: b.key, size: b.size, reason: 'orphaned blob: no document mentions it' })
    else young++
  }
  for (const m of inv.markers) {
    if (inv.docs.has(refName(m.ref))) continue
    if (old(m)) doomed.push({ key: m.key, size: m.size, reason: 'change marker of a document with no objects' })
    else young++
  }
  for (const p of inv.probes) {
    if (old(p)) doomed.push({ key: p.key, size: p.size, reason: 'start-up probe a relay left behind' })
    else young++
  }
  const directory = ctx.store instanceof InstrumentedStore ? ctx.store.inner : ctx.store
  const strays = directory instanceof DirectoryStore ? await directory.strayTemporaryFiles(new Date(cutoff)) : []

  const verb = options.dryRun ? 'would delete' : 'deleted'
  const bar = options.dryRun ? null : progress('gc: deleting', doomed.length + strays.length, 'objects')
  try {
    for (let i = 0; i < doomed.length; i += MAX_LIST_PAGE) {
      const batch = doomed.slice(i, i + MAX_LIST_PAGE)
      if (!options.dryRun) await ctx.store.delete(batch.map((d) => d.key))
      for (const d of batch) {
        ctx.out(`${verb} ${d.key} (${formatBytes(d.size)}): ${d.reason}`)
        bar?.tick()
      }
    }
    for (const s of strays) {
      if (directory instanceof DirectoryStore && !options.dryRun) await directory.removeTemporaryFile(s.file)
      ctx.out(`${verb} ${s.file} (${formatBytes(s.size)}): temporary file of an interrupted write`)
      bar?.tick()
    }
  } finally {
    bar?.stop()
  }
  const count = doomed.length + strays.length
  const bytes = [...doomed, ...strays].reduce((n, d) => n + d.size, 0)
  const kept = young > 0 ? `; ${young} unused object(s) younger than --min-age kept` : ''
  ctx.out(
    `${inv.docs.size} document(s) read, ${inv.blobs.length} blob(s) checked; ${verb} ${count} object(s), ${formatBytes(bytes)}${kept}${options.dryRun ? ' (dry run: nothing deleted)' : ''}`,
  )
  return true
}
