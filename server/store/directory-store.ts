/**
 * The embedded default store: one file per object under a root directory, with the same
 * layout as the bucket. Keys map to paths segment by segment after assertValidKey, so no key
 * can name anything outside the root. Writes go to a temporary file that is fsynced and
 * renamed into place, so a crash leaves either the old object or the new one, never half.
 */
import { randomBytes } from 'node:crypto'
import { constants as fsConstants } from 'node:fs'
import * as fs from 'node:fs/promises'
import * as path from 'node:path'
import { ErrorCode, YrelayError } from '../../shared/errors.js'
import {
  MAX_LIST_PAGE,
  assertValidKey,
  type ListOptions,
  type ListPage,
  type ObjectHead,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type StoreCapabilities,
} from './object-store.js'

/** Temporary files carry a space, which no valid key contains, so they never list as objects. */
const TMP_MARK = ' tmp-'

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code
}

export class DirectoryStore implements ObjectStore {
  readonly kind = 'directory' as const
  readonly root: string

  constructor(root: string) {
    this.root = path.resolve(root)
  }

  private pathOf(key: string): string {
    assertValidKey(key)
    return path.join(this.root, ...key.split('/'))
  }

  async init(): Promise<StoreCapabilities> {
    await fs.mkdir(this.root, { recursive: true })
    await fs.access(this.root, fsConstants.W_OK)
    return { kind: 'directory', conditionalWrites: true, description: `directory ${this.root}` }
  }

  async ping(): Promise<void> {
    await fs.access(this.root, fsConstants.W_OK)
  }

  async close(): Promise<void> {}

  async get(key: string): Promise<Uint8Array | null> {
    const file = this.pathOf(key)
    try {
      return new Uint8Array(await fs.readFile(file))
    } catch (err) {
      if (['ENOENT', 'EISDIR', 'ENOTDIR'].includes(errno(err) ?? '')) return null
      throw err
    }
  }

  async head(key: string): Promise<ObjectHead | null> {
    const file = this.pathOf(key)
    try {
      const st = await fs.stat(file, { bigint: true })
      if (!st.isFile()) return null
      return {
        key,
        size: Number(st.size),
        lastModified: new Date(Number(st.mtimeMs)),
        etag: `${st.ino.toString(36)}-${st.mtimeNs.toString(36)}-${st.size.toString(36)}`,
      }
    } catch (err) {
      if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return null
      throw err
    }
  }

  async put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<void> {
    const file = this.pathOf(key)
    const dir = path.dirname(file)
    // A concurrent delete may prune the freshly made directory before the temp file lands in it.
    for (let attempt = 0; ; attempt++) {
      try {
        await fs.mkdir(dir, { recursive: true })
        await this.writeInto(dir, file, body, options)
        return
      } catch (err) {
        const code = errno(err)
        if (code === 'ENOENT' && attempt < 5) continue
        if (code === 'EEXIST' && options.ifNoneMatch) {
          throw new YrelayError(ErrorCode.STORE_PRECONDITION_FAILED, `object ${key} already exists`)
        }
        if (code === 'ENOTDIR' || code === 'EISDIR' || code === 'EEXIST') {
          throw new YrelayError(
            ErrorCode.STORE_KEY_CONFLICT,
            `cannot store ${key}: the directory store cannot hold a key that is also the prefix of another key`,
          )
        }
        throw err
      }
    }
  }

  private async writeInto(dir: string, file: string, body: Uint8Array, options: PutOptions): Promise<void> {
    const tmp = `${file}${TMP_MARK}${randomBytes(6).toString('hex')}`
    const handle = await fs.open(tmp, 'wx')
    try {
      await handle.writeFile(body)
      await handle.sync()
    } finally {
      await handle.close()
    }
    try {
      if (options.ifNoneMatch) {
        await fs.link(tmp, file)
        await fs.unlink(tmp)
      } else {
        await fs.rename(tmp, file)
      }
    } catch (err) {
      await fs.rm(tmp, { force: true })
      throw err
    }
    await syncDir(dir)
  }

  async delete(keys: string[]): Promise<void> {
    const files = keys.map((k) => this.pathOf(k))
    for (const file of files) {
      try {
        await fs.unlink(file)
      } catch (err) {
        const code = errno(err)
        if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'EPERM') continue
        throw err
      }
      await this.pruneEmptyDirs(path.dirname(file))
    }
  }

  private async pruneEmptyDirs(dir: string): Promise<void> {
    while (dir.startsWith(this.root + path.sep)) {
      try {
        await fs.rmdir(dir)
      } catch {
        return
      }
      dir = path.dirname(dir)
    }
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    const limit = Math.min(Math.max(1, options.limit ?? MAX_LIST_PAGE), MAX_LIST_PAGE)
    const slash = prefix.lastIndexOf('/')
    const dirKey = slash >= 0 ? prefix.slice(0, slash) : ''
    if (dirKey !== '') {
      try {
        assertValidKey(dirKey)
      } catch {
        return { items: [] }
      }
    }
    const startDir = dirKey === '' ? this.root : path.join(this.root, ...dirKey.split('/'))
    const found: ObjectInfo[] = []
    await this.walk(startDir, dirKey, prefix, found)
    found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    const after = options.cursor
    const start = after === undefined ? 0 : found.findIndex((o) => o.key > after)
    const items = start < 0 ? [] : found.slice(start, start + limit)
    const more = start >= 0 && start + limit < found.length
    return more ? { items, cursor: items[items.length - 1]!.key } : { items }
  }

  /** Temporary files of writes that a crash interrupted (never listed as objects), last touched before `before`. */
  async strayTemporaryFiles(before: Date): Promise<{ file: string; size: number }[]> {
    const out: { file: string; size: number }[] = []
    for (const relative of await fs.readdir(this.root, { recursive: true })) {
      if (!path.basename(relative).includes(TMP_MARK)) continue
      const file = path.join(this.root, relative)
      try {
        const st = await fs.stat(file)
        if (st.isFile() && st.mtime < before) out.push({ file, size: st.size })
      } catch (err) {
        if (errno(err) !== 'ENOENT') throw err
      }
    }
    return out
  }

  async removeTemporaryFile(file: string): Promise<void> {
    if (!path.basename(file).includes(TMP_MARK) || !file.startsWith(this.root + path.sep)) {
      throw new Error(`${file} is not a temporary file of this store`)
    }
    await fs.rm(file, { force: true })
  }

  private async walk(dir: string, dirKey: string, prefix: string, out: ObjectInfo[]): Promise<void> {
    let entries
    try {
      entries = await fs.readdir(dir, { withFileTypes: true })
    } catch (err) {
      if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return
      throw err
    }
    for (const entry of entries) {
      if (entry.name.includes(' ')) continue
      const key = dirKey === '' ? entry.name : `${dirKey}/${entry.name}`
      if (entry.isDirectory()) {
        const asDir = `${key}/`
        if (asDir.startsWith(prefix) || prefix.startsWith(asDir)) await this.walk(path.join(dir, entry.name), key, prefix, out)
      } else if (entry.isFile() && key.startsWith(prefix)) {
        try {
          const st = await fs.stat(path.join(dir, entry.name))
          out.push({ key, size: st.size, lastModified: st.mtime })
        } catch (err) {
          if (errno(err) !== 'ENOENT') throw err
        }
      }
    }
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}
