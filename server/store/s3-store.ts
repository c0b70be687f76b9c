/**
 * The S3 store: any S3-compatible server (AWS, MinIO, Ceph radosgw, R2). Checksums are
 * computed only when an operation requires them, because custom endpoints reject or
 * mishandle the SDK's default flexible checksums on uploads.
 */
import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import { randomBytes } from 'node:crypto'
import { ErrorCode, YrelayError } from '../../shared/errors.js'
import { PROBE_PREFIX } from '../docs/layout.js'
import {
  MAX_LIST_PAGE,
  assertValidKey,
  type ListOptions,
  type ListPage,
  type ObjectHead,
  type ObjectStore,
  type PutOptions,
  type StoreCapabilities,
} from './object-store.js'

export interface S3StoreOptions {
  endpoint?: string
  region: string
  accessKeyId?: string
  secretAccessKey?: string
  bucket: string
  forcePathStyle: boolean
}

interface S3ErrorShape {
  name?: string
  Code?: string
  $metadata?: { httpStatusCode?: number }
}

function status(err: unknown): number | undefined {
  return (err as S3ErrorShape | undefined)?.$metadata?.httpStatusCode
}

function isNotFound(err: unknown): boolean {
  const e = err as S3ErrorShape
  return status(err) === 404 || e?.name === 'NoSuchKey' || e?.name === 'NotFound'
}

export class S3Store implements ObjectStore {
  readonly kind = 's3' as const
  readonly bucket: string
  private readonly client: S3Client
  private readonly endpoint: string

  constructor(options: S3StoreOptions) {
    this.bucket = options.bucket
    this.endpoint = options.endpoint ?? `https://s3.${options.region}.amazonaws.com`
    this.client = new S3Client({
      endpoint: options.endpoint,
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      credentials:
        options.accessKeyId && options.secretAccessKey
          ? { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey }
          : undefined,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
      maxAttempts: 3,
    })
  }

  async init(): Promise<StoreCapabilities> {
    await this.ensureBucket()
    const conditionalWrites = await this.probeConditionalWrites()
    return {
      kind: 's3',
      conditionalWrites,
      description: `s3 bucket ${this.bucket} at ${this.endpoint}`,
    }
  }

  private async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }))
      return
    } catch (err) {
      if (!isNotFound(err)) throw err
    }
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }))
    } catch (err) {
      // Servers disagree on how to say "already there": MinIO, Ceph and emulators each differ.
      const name = (err as S3ErrorShape).name
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists' && status(err) !== 409) throw err
    }
  }

  private async probeConditionalWrites(): Promise<boolean> {
    const key = `${PROBE_PREFIX}${randomBytes(8).toString('hex')}`
    const body = new Uint8Array([1])
    try {
      await this.put(key, body, { ifNoneMatch: true })
      await this.put(key, body, { ifNoneMatch: true })
      return false
    } catch (err) {
      if (err instanceof YrelayError && err.code === ErrorCode.STORE_PRECONDITION_FAILED) return true
      throw err
    } finally {
      await this.delete([key])
    }
  }

  async ping(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }))
  }

  async close(): Promise<void> {
    this.client.destroy()
  }

  async get(key: string): Promise<Uint8Array | null> {
    assertValidKey(key)
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }))
      if (!res.Body) return new Uint8Array(0)
      return await res.Body.transformToByteArray()
    } catch (err) {
      if (isNotFound(err)) return null
      throw err
    }
  }

  async head(key: string): Promise<ObjectHead | null> {
    assertValidKey(key)
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }))
      return {
        key,
        size: res.ContentLength ?? 0,
        lastModified: res.LastModified ?? new Date(0),
        etag: (res.ETag ?? '').replaceAll('"', ''),
      }
    } catch (err) {
      if (isNotFound(err)) return null
      throw err
    }
  }

  async put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<void> {
    assertValidKey(key)
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentLength: body.byteLength,
          ContentType: options.contentType ?? 'application/octet-stream',
          IfNoneMatch: options.ifNoneMatch ? '*' : undefined,
        }),
      )
    } catch (err) {
      if (options.ifNoneMatch && status(err) === 412) {
        throw new YrelayError(ErrorCode.STORE_PRECONDITION_FAILED, `object ${key} already exists`)
      }
      throw err
    }
  }

  async delete(keys: string[]): Promise<void> {
    keys.forEach(assertValidKey)
    for (let i = 0; i < keys.length; i += MAX_LIST_PAGE) {
      const batch = keys.slice(i, i + MAX_LIST_PAGE)
      const res = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      )
      const failed = (res.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey')
      if (failed.length > 0) {
        const first = failed[0]!
        throw new Error(`S3 refused to delete ${failed.length} of ${batch.length} objects; first: ${first.Key}: ${first.Code} ${first.Message ?? ''}`)
      }
    }
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    const limit = Math.min(Math.max(1, options.limit ?? MAX_LIST_PAGE), MAX_LIST_PAGE)
    const res = await this.client.send(
      new ListObjectsV2Command({
        Bucket: this.bucket,
        Prefix: prefix,
        MaxKeys: limit,
        StartAfter: options.cursor,
      }),
    )
    const items = (res.Contents ?? []).map((o) => ({
      key: o.Key!,
      size: o.Size ?? 0,
      lastModified: o.LastModified ?? new Date(0),
    }))
    return res.IsTruncated && items.length > 0 ? { items, cursor: items[items.length - 1]!.key } : { items }
  }
}
