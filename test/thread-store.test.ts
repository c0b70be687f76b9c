/** The S3 store behind its storage thread: what happens when the thread goes away. */
import { describe, expect, it } from 'vitest'
import { ErrorCode } from '../shared/errors.js'
import { ThreadStore } from '../server/store/thread-store.js'
import { radosgwOptions, uniqueBucket } from './support/stores.js'

const bytes = (s: string) => new TextEncoder().encode(s)

describe('S3 store on a storage thread', () => {
  it('fails the calls in flight with storage_unavailable when the thread dies, and starts a new one for the next call', async () => {
    const store = new ThreadStore(radosgwOptions(uniqueBucket()))
    await store.init()
    await store.put('docs/a/~log/1.bin', bytes('kept'))
    const inFlight = Promise.all(Array.from({ length: 20 }, (_, i) => store.put(`docs/a/~log/${i + 2}.bin`, bytes('x'))))
    await store['worker']!.terminate()
    await expect(inFlight).rejects.toMatchObject({ code: ErrorCode.STORAGE_UNAVAILABLE, message: expect.stringMatching(/storage thread exited/) })
    expect(new TextDecoder().decode((await store.get('docs/a/~log/1.bin'))!)).toBe('kept')
    await store.close()
  })

  it('keeps an S3 error\'s name and HTTP status across the thread', async () => {
    const store = new ThreadStore(radosgwOptions(uniqueBucket()))
    // No init: the bucket does not exist, and S3 says so.
    await expect(store.list('docs/')).rejects.toMatchObject({ name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } })
    await store.close()
  })

  it('hands a fetched object over intact and keeps the caller’s buffer usable after a put', async () => {
    const store = new ThreadStore(radosgwOptions(uniqueBucket()))
    await store.init()
    const body = new Uint8Array(256 * 1024).map((_, i) => i % 251)
    await store.put('blobs/big', body)
    expect(body.byteLength).toBe(256 * 1024)
    expect(body[1000]).toBe(1000 % 251)
    const back = await store.get('blobs/big')
    expect(back).toEqual(body)
    await store.close()
  })
})
