/** Picks the store the configuration asks for: S3 when S3_BUCKET is set, else a directory. */
import type { BlobUrlSigner } from '../blobs/blob-urls.js'
import type { Config } from '../config.js'
import { DirectoryStore } from './directory-store.js'
import { InstrumentedStore } from './instrumented-store.js'
import type { S3StoreOptions } from './s3-store.js'
import { ThreadStore } from './thread-store.js'

/** The bucket and credentials both the store and the presigner use. */
function s3Options(config: Config, bucket: string): S3StoreOptions {
  return {
    endpoint: config.S3_ENDPOINT,
    region: config.S3_REGION,
    accessKeyId: config.S3_ACCESS_KEY_ID,
    secretAccessKey: config.S3_SECRET_ACCESS_KEY,
    bucket,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
  }
}

export function createStore(config: Config): InstrumentedStore {
  if (config.S3_BUCKET) return new InstrumentedStore(new ThreadStore(s3Options(config, config.S3_BUCKET)))
  return new InstrumentedStore(new DirectoryStore(config.DATA_DIR))
}

/**
 * The presigner for blob URLs when the store is S3; undefined lets the relay sign its own. The
 * AWS SDK loads at the first URL asked for, not at start: S3 requests run on the storage
 * thread, and the SDK would add about 20 MB to the relay's own thread for nothing until then.
 */
export function createBlobSigner(config: Config): BlobUrlSigner | undefined {
  if (!config.S3_BUCKET) return undefined
  const { endpoint, ...options } = s3Options(config, config.S3_BUCKET)
  const publicEndpoint = config.S3_PUBLIC_ENDPOINT ?? endpoint
  let signer: Promise<BlobUrlSigner> | undefined
  const loaded = () => (signer ??= import('../blobs/s3-url-signer.js').then(({ S3UrlSigner }) => new S3UrlSigner({ publicEndpoint, ...options })))
  return {
    uploadUrl: async (key, spec, ttlSeconds) => (await loaded()).uploadUrl(key, spec, ttlSeconds),
    downloadUrl: async (key, ttlSeconds) => (await loaded()).downloadUrl(key, ttlSeconds),
  }
}
