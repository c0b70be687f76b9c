/** What only the directory store has to prove: no key escapes its root, and crashes leave no halves. */
import { mkdir, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ErrorCode, isYrelayError } from '../shared/errors.js'
import { DirectoryStore } from '../server/store/directory-store.js'
import { tempDir } from './support/stores.js'

describe('directory store', () => {
  it('maps keys to files under its root and nowhere else', async () => {
    const parent = await tempDir()
    const root = join(parent, 'data')
    await writeFile(join(parent, 'secret'), 'outside')
    const store = new DirectoryStore(root)
    await store.init()
    for (const key of ['../secret', 'a/../../secret', '/etc/passwd', 'a/./../../secret', '..\\secret']) {
      await expect(store.get(key)).rejects.toSatisfy((e) => isYrelayError(e, ErrorCode.STORE_BAD_KEY))
      await expect(store.put(key, new Uint8Array([1]))).rejects.toSatisfy((e) => isYrelayError(e, ErrorCode.STORE_BAD_KEY))
    }
    await store.put('docs/a/~log/1.bin', new Uint8Array([1, 2]))
    expect(await readdir(join(root, 'docs', 'a', '~log'))).toEqual(['1.bin'])
    expect((await store.list('../')).items).toEqual([])
  })

  it('never lists temporary files left by a crash mid-write', async () => {
    const root = await tempDir()
    const store = new DirectoryStore(root)
    await store.init()
    await store.put('docs/a/~log/1.bin', new Uint8Array([1]))
    await writeFile(join(root, 'docs', 'a', '~log', '2.bin tmp-abc123'), 'half')
    expect((await store.list('docs/')).items.map((i) => i.key)).toEqual(['docs/a/~log/1.bin'])
  })

  it('removes emptied directories on delete and refuses a key that is also a directory', async () => {
    const root = await tempDir()
    const store = new DirectoryStore(root)
    await store.init()
    await store.put('docs/x/~log/1.bin', new Uint8Array([1]))
    await store.delete(['docs/x/~log/1.bin'])
    expect(await readdir(root)).toEqual([])
    await mkdir(join(root, 'dir', 'inner'), { recursive: true })
    await writeFile(join(root, 'dir', 'inner', 'f'), 'x')
    await expect(store.put('dir/inner', new Uint8Array([1]))).rejects.toSatisfy((e) => isYrelayError(e, ErrorCode.STORE_KEY_CONFLICT))
    expect(await store.get('dir/inner')).toBeNull()
  })
})
