/**
 * What a relay process builds from its S3 configuration: the store (behind its storage thread)
 * and the presigner for blob URLs, which loads the AWS SDK only when the first URL is asked for.
 */
import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../server/config.js'
import { createBlobSigner, createStore } from '../server/store/create-store.js'
import { s3Env } from './support/stores.js'

describe('createStore and createBlobSigner from S3 configuration', () => {
  it('sign URLs for the bucket the store writes to: an upload through one is read back by the store and the download URL', async () => {
    const config = loadConfig(s3Env())
    const store = createStore(config)
    try {
      await store.init()
      const signer = createBlobSigner(config)
      if (!signer) throw new Error('no presigner for an S3 configuration')
      const bytes = randomBytes(4096)
      const key = 'blobs/created-by-config'
      const upload = await signer.uploadUrl(key, { size: bytes.byteLength, contentType: 'application/octet-stream', sha256: '' }, 60)
      const put = await fetch(upload.url, { method: upload.method, headers: upload.headers, body: bytes })
      expect(put.status).toBe(200)
      expect(Buffer.from((await store.get(key))!)).toEqual(bytes)
      const download = await signer.downloadUrl(key, 60)
      expect(Buffer.from(await (await fetch(download.url)).arrayBuffer())).toEqual(bytes)
    } finally {
      await store.close()
    }
  })

  it('gives no presigner for a directory store (the relay signs its own URLs)', () => {
    expect(createBlobSigner(loadConfig({ DATA_DIR: '/tmp/unused' }))).toBeUndefined()
  })
})
