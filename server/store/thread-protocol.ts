/**
 * Messages between the relay's thread and the storage thread (`s3-worker.ts`): one request per
 * store call, answered once by id. Errors cross as plain data and are rebuilt on arrival, so a
 * YrelayError keeps its code and anything else its name, message and the HTTP status S3 gave.
 */
import { YrelayError, type ErrorCode } from '../../shared/errors.js'
import type { ObjectStore } from './object-store.js'

export type StoreOpName = 'init' | 'ping' | 'get' | 'head' | 'put' | 'delete' | 'list' | 'close'

export interface StoreRequest {
  id: number
  op: StoreOpName
  args: unknown[]
}

export interface ErrorData {
  name: string
  message: string
  code?: ErrorCode
  details?: Record<string, unknown>
  /** The HTTP status S3 answered with, which SDK errors carry as `$metadata.httpStatusCode`. */
  status?: number
}

interface SdkErrorShape {
  $metadata?: { httpStatusCode?: number }
}

export type StoreReply = { id: number; value: unknown } | { id: number; error: ErrorData }

export function errorToData(err: unknown): ErrorData {
  if (err instanceof YrelayError) return { name: err.name, message: err.message, code: err.code, details: err.details }
  if (err instanceof Error) return { name: err.name, message: err.message, status: (err as SdkErrorShape).$metadata?.httpStatusCode }
  return { name: 'Error', message: String(err) }
}

export function errorFromData(data: ErrorData): Error {
  if (data.code) return new YrelayError(data.code, data.message, { details: data.details })
  // Rebuilt in the SDK's shape, so logs still show what S3 answered (a bare "UnknownError"
  // says nothing without its status).
  const err: Error & SdkErrorShape = new Error(data.message)
  err.name = data.name
  if (data.status !== undefined) err.$metadata = { httpStatusCode: data.status }
  return err
}

/** Runs one request against the store the thread owns. */
export function perform(store: ObjectStore, request: StoreRequest): Promise<unknown> {
  const a = request.args
  switch (request.op) {
    case 'init':
      return store.init()
    case 'ping':
      return store.ping()
    case 'get':
      return store.get(a[0] as string)
    case 'head':
      return store.head(a[0] as string)
    case 'put':
      return store.put(a[0] as string, a[1] as Uint8Array, a[2] as Parameters<ObjectStore['put']>[2])
    case 'delete':
      return store.delete(a[0] as string[])
    case 'list':
      return store.list(a[0] as string, a[1] as Parameters<ObjectStore['list']>[1])
    case 'close':
      return store.close()
  }
}

/** The buffers a reply can hand over instead of copying: a fetched object that owns its memory. */
export function transferablesOf(value: unknown): ArrayBuffer[] {
  if (value instanceof Uint8Array && value.byteOffset === 0 && value.byteLength === value.buffer.byteLength && value.buffer instanceof ArrayBuffer) return [value.buffer]
  return []
}
