/**
 * The storage layout (DESIGN.md, "Storage layout"), in one place:
 *
 *   <scope>docs/<path>/~snap/<seq>.bin   snapshot: header + full state (see snapshot-format.ts)
 *   <scope>docs/<path>/~log/<seq>.bin    one flushed batch of updates (Y.mergeUpdates)
 *   <scope>.yrelay/changed/<path>/~marker  rewritten after every flush in S3-only multi-relay
 *                                          mode: its ETag tells other relays to look
 *
 * <scope> is "" (the bucket root) for single-tenant relays, or "users/<id>/" and the like.
 */

export interface DocRef {
  /** Key prefix that owns the document: "" or ends with "/". */
  scope: string
  /** The document's path inside its scope (a valid doc name). */
  path: string
}

export const SNAP_DIR = '~snap/'
export const LOG_DIR = '~log/'
const OBJECT_SUFFIX = '.bin'

export function docPrefix(ref: DocRef): string {
  return `${ref.scope}docs/${ref.path}/`
}

export function snapPrefix(ref: DocRef): string {
  return docPrefix(ref) + SNAP_DIR
}

export function logPrefix(ref: DocRef): string {
  return docPrefix(ref) + LOG_DIR
}

export function snapKey(ref: DocRef, seq: string): string {
  return snapPrefix(ref) + seq + OBJECT_SUFFIX
}

export function logKey(ref: DocRef, seq: string): string {
  return logPrefix(ref) + seq + OBJECT_SUFFIX
}

/** "~" never starts a path segment, so no document's key can collide with its marker. */
export function changeMarkerKey(ref: DocRef): string {
  return `${ref.scope}.yrelay/changed/${ref.path}/~marker`
}

/** The key relative to the document's prefix ("~log/<seq>.bin"), as snapshots record it. */
export function relativeKey(ref: DocRef, key: string): string {
  const prefix = docPrefix(ref)
  if (!key.startsWith(prefix)) throw new Error(`key ${key} is not under ${prefix}`)
  return key.slice(prefix.length)
}

/** Single-tenant relays keep every document at the bucket root. */
export function singleTenantRef(name: string): DocRef {
  return { scope: '', path: name }
}

export function refName(ref: DocRef): string {
  return ref.scope + ref.path
}
