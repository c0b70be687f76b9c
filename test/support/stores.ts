/** Stores for tests: a fresh bucket on the run's radosgw, or a fresh temporary directory. */
import { randomBytes } from 'node:crypto'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inject } from 'vitest'
import * as Y from 'yjs'
import { DocStore } from '../../server/docs/doc-store.js'
import { blobsPrefix, docsPrefix } from '../../server/docs/layout.js'
import { S3UrlSigner } from '../../server/blobs/s3-url-signer.js'
import { DirectoryStore } from '../../server/store/directory-store.js'
import { InstrumentedStore } from '../../server/store/instrumented-store.js'
import { listAll, type ObjectStore } from '../../server/store/object-store.js'
import { S3Store } from '../../server/store/s3-store.js'
import { ThreadStore } from '../../server/store/thread-store.js'

export type StoreKind = 's3' | 'directory'
export const STORE_KINDS: StoreKind[] = ['s3', 'directory']
/** The object-store contract also runs on S3 behind its storage thread, as relay processes use it. */
export type ContractKind = StoreKind | 's3-thread'
export const CONTRACT_KINDS: ContractKind[] = [...STORE_KINDS, 's3-thread']

export function uniqueBucket(): string {
  return `yr-${randomBytes(6).toString('hex')}`
}

/** Environment variables that point a relay process at a fresh bucket on the test radosgw. */
export function s3Env(bucket = uniqueBucket()): Record<string, string> {
  const s3 = inject('s3')
  return {
    S3_ENDPOINT: s3.endpoint,
    S3_REGION: s3.region,
    S3_ACCESS_KEY_ID: s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    S3_BUCKET: bucket,
    S3_FORCE_PATH_STYLE: 'true',
  }
}

/** The run's radosgw and a bucket on it, as the store and the presigner both take them. */
export function radosgwOptions(bucket: string) {
  const s3 = inject('s3')
  return { endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, bucket, forcePathStyle: true }
}

export function s3Store(bucket = uniqueBucket()): S3Store {
  return new S3Store(radosgwOptions(bucket))
}

export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'yrelay-test-'))
}

/** A ready (initialised) store of the given kind, counting its requests. */
export async function freshStore(kind: ContractKind): Promise<InstrumentedStore> {
  const inner = kind === 's3' ? s3Store() : kind === 's3-thread' ? new ThreadStore(radosgwOptions(uniqueBucket())) : new DirectoryStore(await tempDir())
  const store = new InstrumentedStore(inner)
  await store.init()
  return store
}

/** The text 't' of a single-tenant document as storage holds it now (read, not through a relay). */
export async function storedText(store: ObjectStore, name: string): Promise<string> {
  const docs = new DocStore(store, { instanceId: 'check', snapshotRetention: 2 })
  const doc = new Y.Doc()
  Y.applyUpdate(doc, (await docs.load({ scope: '', path: name })).update)
  return doc.getText('t').toString()
}

/** Bytes a scope stores (its documents and blobs), listed as quotas count them. */
export async function storedBytes(store: ObjectStore, scope: string): Promise<number> {
  let n = 0
  for (const prefix of [docsPrefix(scope), blobsPrefix(scope)]) for await (const o of listAll(store, prefix)) n += o.size
  return n
}

/** The presigner for a store on the test radosgw; undefined for a directory (the relay signs its own URLs). */
export function signerFor(store: ObjectStore): S3UrlSigner | undefined {
  const inner = store instanceof InstrumentedStore ? store.inner : store
  if (!(inner instanceof S3Store || inner instanceof ThreadStore)) return undefined
  const { endpoint, ...rest } = radosgwOptions(inner.bucket)
  return new S3UrlSigner({ publicEndpoint: endpoint, ...rest })
}
