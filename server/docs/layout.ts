/**
 * The storage layout (DESIGN.md, "Storage layout"), in one place:
 *
 *   <scope>docs/<path>/~snap/<seq>.bin        snapshot: header + full state (see snapshot-format.ts)
 *   <scope>docs/<path>/~log/<seq>.bin         one flushed batch of updates (Y.mergeUpdates)
 *   <scope>blobs/<sha256>                     a blob, uploaded through a presigned URL
 *   <scope>tombstones/docs/<path>.json        {deletedAt, deletedBy}: the document was deleted
 *   <scope>tombstones/blobs/<sha256>.json     the same for a blob
 *   <scope>.yrelay/changed/<path>/~marker  rewritten after every flush in S3-only multi-relay
 *                                          mode: its ETag tells other relays to look
 *   .yrelay/url-signing-key                   the secret the relay signs directory-store blob URLs with
 *   .yrelay/probe/<random>                    written and deleted at start to learn what S3 supports
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

export const DOCS_DIR = 'docs/'
export const BLOBS_DIR = 'blobs/'
const TOMBSTONE_SUFFIX = '.json'

/** Every document object of a scope lives under this prefix. */
export function docsPrefix(scope: string): string {
  return scope + DOCS_DIR
}

/**
 * The document a stored object belongs to ("notes/a" for "<scope>docs/notes/a/~log/1.bin"),
 * or null for keys that are not document objects.
 */
export function docPathOfKey(scope: string, key: string): string | null {
  const prefix = docsPrefix(scope)
  if (!key.startsWith(prefix)) return null
  const rest = key.slice(prefix.length)
  const at = Math.max(rest.lastIndexOf(`/${SNAP_DIR}`), rest.lastIndexOf(`/${LOG_DIR}`))
  return at > 0 ? rest.slice(0, at) : null
}

export function tombstoneKey(ref: DocRef): string {
  return `${ref.scope}tombstones/${DOCS_DIR}${ref.path}${TOMBSTONE_SUFFIX}`
}

export function blobsPrefix(scope: string): string {
  return scope + BLOBS_DIR
}

export function blobKey(scope: string, sha256: string): string {
  return blobsPrefix(scope) + sha256
}

export function blobTombstoneKey(scope: string, sha256: string): string {
  return `${scope}tombstones/${BLOBS_DIR}${sha256}${TOMBSTONE_SUFFIX}`
}

/** The key of the secret the relay signs its own blob URLs with (directory store). */
export const URL_SIGNING_KEY = '.yrelay/url-signing-key'

/** Where the S3 store's start-up probe writes; anything left there is from a relay that died probing. */
export const PROBE_PREFIX = '.yrelay/probe/'

const SCOPE = '((?:users|teams|spaces)\\/[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}\\/)?'
const BLOB_KEY = new RegExp(`^${SCOPE}blobs\\/([0-9a-f]{64})$`)
const BLOB_TOMBSTONE_KEY = new RegExp(`^${SCOPE}tombstones\\/blobs\\/([0-9a-f]{64})\\.json$`)
const CHANGE_MARKER_KEY = new RegExp(`^${SCOPE}\\.yrelay\\/changed\\/(.+)\\/~marker$`)

/** Splits a blob key ("teams/t7/blobs/<sha256>") into its scope and hash; null when it is not one. */
export function parseBlobKey(key: string): { scope: string; sha256: string } | null {
  const m = BLOB_KEY.exec(key)
  return m ? { scope: m[1] ?? '', sha256: m[2]! } : null
}

/** The blob a blob tombstone stands for; null when the key is not a blob tombstone. */
export function parseBlobTombstoneKey(key: string): { scope: string; sha256: string } | null {
  const m = BLOB_TOMBSTONE_KEY.exec(key)
  return m ? { scope: m[1] ?? '', sha256: m[2]! } : null
}

/** The document a change marker belongs to; null when the key is not a change marker. */
export function parseChangeMarkerKey(key: string): DocRef | null {
  const m = CHANGE_MARKER_KEY.exec(key)
  return m ? { scope: m[1] ?? '', path: m[2]! } : null
}
