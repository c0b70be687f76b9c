/**
 * Finds documents by listing the store: every snapshot and log key names its document
 * (layout.ts), so the bucket itself is the index. Used by the admin commands and dashboard.
 */
import { listAll, type ObjectInfo, type ObjectStore } from '../store/object-store.js'
import { LOG_DIR, SNAP_DIR, refName, type DocRef } from './layout.js'

export interface DocObjects {
  ref: DocRef
  /** The document's name as clients open it: scope + path. */
  name: string
  snapshots: ObjectInfo[]
  logs: ObjectInfo[]
}

const SCOPE = '(?:(?:users|teams|spaces)/[^/]+/)?'
const DOC_KEY = new RegExp(`^(${SCOPE})docs/(.+)/(${SNAP_DIR}|${LOG_DIR})[^/]+\\.bin$`)

/** The document and kind of a snapshot or log key; null for any other key. */
export function parseDocKey(key: string): { ref: DocRef; kind: 'snapshot' | 'log' } | null {
  const m = DOC_KEY.exec(key)
  if (!m) return null
  return { ref: { scope: m[1]!, path: m[2]! }, kind: m[3] === SNAP_DIR ? 'snapshot' : 'log' }
}

/** A document name as the relay maps it to storage: multi-tenant names start with their scope. */
export function refOfName(name: string, tenancy: 'single' | 'multi'): DocRef {
  if (tenancy === 'single') return { scope: '', path: name }
  const [kind, id, ...rest] = name.split('/')
  return { scope: `${kind}/${id}/`, path: rest.join('/') }
}

/** The narrowest key prefix under which every document whose name starts with namePrefix lives. */
function keyPrefixOf(namePrefix: string, tenancy: 'single' | 'multi'): string {
  if (tenancy === 'single') return `docs/${namePrefix}`
  const m = /^((?:users|teams|spaces)\/[^/]+\/)(.*)$/.exec(namePrefix)
  return m ? `${m[1]}docs/${m[2]}` : ''
}

/**
 * Every document whose name starts with namePrefix, in key order, with its objects. A
 * document's keys are contiguous in a listing (no valid segment sorts between "~log/" and
 * "~snap/"), so documents are grouped as the listing streams by.
 */
export async function* listDocuments(store: ObjectStore, namePrefix: string, tenancy: 'single' | 'multi'): AsyncGenerator<DocObjects> {
  let current = null as DocObjects | null
  for await (const object of listAll(store, keyPrefixOf(namePrefix, tenancy))) {
    const parsed = parseDocKey(object.key)
    if (!parsed) continue
    const name = refName(parsed.ref)
    if (!name.startsWith(namePrefix)) continue
    if (current?.name !== name) {
      if (current) yield current
      current = { ref: parsed.ref, name, snapshots: [], logs: [] }
    }
    ;(parsed.kind === 'snapshot' ? current.snapshots : current.logs).push(object)
  }
  if (current) yield current
}

/** One document's objects, or null when it has none. */
export async function documentObjects(store: ObjectStore, name: string, tenancy: 'single' | 'multi'): Promise<DocObjects | null> {
  for await (const doc of listDocuments(store, name, tenancy)) if (doc.name === name) return doc
  return null
}
