/**
 * `yrelay inspect <doc>`: a document's objects (snapshots and logs, sizes, who wrote them and
 * when: the instance id is inside each object's sequence number), and its content as JSON.
 */
import { contentJson } from '../docs/content-json.js'
import type { DocStore } from '../docs/doc-store.js'
import { documentObjects } from '../docs/doc-index.js'
import { docPrefix } from '../docs/layout.js'
import { parseSeq, seqOfKey } from '../docs/seq.js'
import { decodeSnapshot } from '../docs/snapshot-format.js'
import type { ObjectInfo, ObjectStore } from '../store/object-store.js'
import { formatBytes, type AdminContext } from './context.js'

export interface ObjectReport {
  key: string
  kind: 'snapshot' | 'log'
  size: number
  lastModified: string
  /** Relay instance that wrote it, and when (from the sequence number). */
  writer: string | null
  writtenAt: string | null
  /** Snapshots: how many objects their state contains. */
  contains?: number
}

export interface DocReport {
  name: string
  keyPrefix: string
  snapshots: ObjectReport[]
  logs: ObjectReport[]
  storedBytes: number
  /** The merged state's size as one Yjs update. */
  stateBytes: number
  /** Each instance that wrote an object still stored, newest first. */
  lastWriters: { instanceId: string; at: string; objects: number }[]
  content: Record<string, unknown>
}

function objectReport(o: ObjectInfo, kind: 'snapshot' | 'log'): ObjectReport {
  const seq = parseSeq(seqOfKey(o.key))
  return {
    key: o.key,
    kind,
    size: o.size,
    lastModified: o.lastModified.toISOString(),
    writer: seq?.instanceId ?? null,
    writtenAt: seq?.at.toISOString() ?? null,
  }
}

/** Null when the document has no objects. */
export async function inspectDocument(
  ctx: { store: ObjectStore; docs: DocStore; tenancy: 'single' | 'multi' },
  name: string,
): Promise<DocReport | null> {
  const objects = await documentObjects(ctx.store, name, ctx.tenancy)
  if (!objects) return null
  const snapshots = objects.snapshots.map((o) => objectReport(o, 'snapshot'))
  await Promise.all(
    snapshots.map(async (s) => {
      const bytes = await ctx.store.get(s.key)
      if (bytes) s.contains = decodeSnapshot(bytes).contains.length
    }),
  )
  const logs = objects.logs.map((o) => objectReport(o, 'log'))
  const loaded = await ctx.docs.load(objects.ref)
  const writers = new Map<string, { at: string; objects: number }>()
  for (const o of [...snapshots, ...logs]) {
    if (!o.writer || !o.writtenAt) continue
    const w = writers.get(o.writer)
    if (!w) writers.set(o.writer, { at: o.writtenAt, objects: 1 })
    else {
      w.objects++
      if (o.writtenAt > w.at) w.at = o.writtenAt
    }
  }
  return {
    name,
    keyPrefix: docPrefix(objects.ref),
    snapshots,
    logs,
    storedBytes: [...snapshots, ...logs].reduce((n, o) => n + o.size, 0),
    stateBytes: loaded.update.byteLength,
    lastWriters: [...writers].map(([instanceId, w]) => ({ instanceId, ...w })).sort((a, b) => (a.at < b.at ? 1 : -1)),
    content: contentJson(loaded.update),
  }
}

export async function inspectCommand(ctx: AdminContext, name: string, options: { json: boolean }): Promise<boolean> {
  const report = await inspectDocument(ctx, name)
  if (!report) {
    process.stderr.write(`yrelay: no document ${JSON.stringify(name)} in this store (no objects under its prefix)\n`)
    return false
  }
  if (options.json) {
    ctx.out(JSON.stringify(report, null, 2))
    return true
  }
  const size = (list: ObjectReport[]) => formatBytes(list.reduce((n, o) => n + o.size, 0))
  ctx.out(`document   ${report.name}`)
  ctx.out(`prefix     ${report.keyPrefix}`)
  ctx.out(`snapshots  ${report.snapshots.length} (${size(report.snapshots)})`)
  ctx.out(`logs       ${report.logs.length} (${size(report.logs)})`)
  ctx.out(`stored     ${formatBytes(report.storedBytes)}; state as one update ${formatBytes(report.stateBytes)}`)
  ctx.out('last writers')
  for (const w of report.lastWriters) ctx.out(`  ${w.instanceId.padEnd(16)} ${w.at}  ${w.objects} object(s)`)
  ctx.out('objects')
  for (const o of [...report.snapshots, ...report.logs]) {
    const contains = o.contains === undefined ? '' : `  contains ${o.contains}`
    ctx.out(`  ${o.key.slice(report.keyPrefix.length).padEnd(48)} ${formatBytes(o.size).padStart(10)}  ${o.writer ?? '?'} ${o.writtenAt ?? ''}${contains}`)
  }
  ctx.out('content')
  ctx.out(JSON.stringify(report.content, null, 2))
  return true
}
