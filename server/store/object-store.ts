/**
 * The object-store contract every storage backend implements with the same behaviour
 * (checked by test/object-store.contract.test.ts against each of them).
 *
 * Keys are `/`-separated paths of printable ASCII; listings are in byte order of the key.
 */
import { ErrorCode, YrelayError } from '../../shared/errors.js'

export interface ObjectInfo {
  key: string
  size: number
  lastModified: Date
}

export interface ObjectHead extends ObjectInfo {
  /** Changes whenever the object's content is replaced. */
  etag: string
}

export interface ListPage {
  items: ObjectInfo[]
  /** Present when more items follow: pass it back as `cursor`. */
  cursor?: string
}

export interface ListOptions {
  cursor?: string
  /** At most this many items per page (default and maximum 1000). */
  limit?: number
}

export interface PutOptions {
  contentType?: string
  /** Write only if no object exists at the key; otherwise fail with STORE_PRECONDITION_FAILED. */
  ifNoneMatch?: boolean
}

export interface StoreCapabilities {
  kind: 's3' | 'directory'
  conditionalWrites: boolean
  description: string
}

export interface ObjectStore {
  readonly kind: 's3' | 'directory'
  get(key: string): Promise<Uint8Array | null>
  head(key: string): Promise<ObjectHead | null>
  put(key: string, body: Uint8Array, options?: PutOptions): Promise<void>
  /** Deletes the keys that exist; missing keys are not an error. */
  delete(keys: string[]): Promise<void>
  list(prefix: string, options?: ListOptions): Promise<ListPage>
  /** Cheap round trip proving the store answers (for /readyz). */
  ping(): Promise<void>
  /** Creates what is missing (the bucket, the directory) and reports what the store supports. */
  init(): Promise<StoreCapabilities>
  close(): Promise<void>
}

export const MAX_LIST_PAGE = 1000
export const MAX_KEY_LENGTH = 1024

const KEY_CHARS = /^[\x21-\x7e]+$/

/** Rejects keys no backend should ever be asked for: both stores apply the same rule. */
export function assertValidKey(key: string): void {
  const bad = (why: string): never => {
    throw new YrelayError(ErrorCode.STORE_BAD_KEY, `invalid storage key ${JSON.stringify(key.slice(0, 80))}: ${why}`)
  }
  if (key.length === 0) bad('empty')
  if (key.length > MAX_KEY_LENGTH) bad(`longer than ${MAX_KEY_LENGTH} characters`)
  if (!KEY_CHARS.test(key)) bad('only printable ASCII without spaces is allowed')
  if (key.includes('\\')) bad('backslash is not allowed')
  for (const seg of key.split('/')) {
    if (seg === '' || seg === '.' || seg === '..') bad('empty, "." and ".." segments are not allowed')
  }
}

/** Lists every object under a prefix, following cursors. */
export async function* listAll(store: ObjectStore, prefix: string): AsyncGenerator<ObjectInfo> {
  let cursor: string | undefined
  do {
    const page = await store.list(prefix, { cursor })
    yield* page.items
    cursor = page.cursor
  } while (cursor)
}
