/**
 * An S3 store whose requests run on a worker thread (`s3-worker.ts`), so the SDK's CPU per
 * request stays off the relay's event loop: with writes on the relay thread, fan-out p99
 * latency rose with every flush a document made.
 *
 * The thread keeps the process alive only while a call is outstanding, like a socket would.
 * If it dies, the calls in flight fail with STORAGE_UNAVAILABLE and the next call starts a
 * new one.
 */
import { Worker } from 'node:worker_threads'
import { ErrorCode, YrelayError } from '../../shared/errors.js'
import type { ListOptions, ListPage, ObjectHead, ObjectStore, PutOptions, StoreCapabilities } from './object-store.js'
import type { S3StoreOptions } from './s3-store.js'
import { errorFromData, type StoreOpName, type StoreReply } from './thread-protocol.js'

interface Call {
  resolve: (value: unknown) => void
  reject: (err: Error) => void
}

/**
 * Starts the thread on the compiled entry; run from TypeScript sources (tests, tsx), on the .ts
 * entry through tsx's loader, which Node 20 does not hand down to worker threads by itself.
 */
function startWorker(workerData: S3StoreOptions): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./s3-worker.js', import.meta.url), { workerData })
  const entry = JSON.stringify(new URL('./s3-worker.ts', import.meta.url).href)
  return new Worker(`import('tsx/esm/api').then((tsx) => tsx.tsImport(${entry}, ${JSON.stringify(import.meta.url)}))`, { eval: true, workerData })
}

export class ThreadStore implements ObjectStore {
  readonly kind = 's3' as const
  readonly bucket: string
  private worker: Worker | null = null
  private readonly calls = new Map<number, Call>()
  private nextId = 1

  constructor(private readonly options: S3StoreOptions) {
    this.bucket = options.bucket
  }

  private start(): Worker {
    const worker = startWorker(this.options)
    worker.unref()
    worker.on('message', (reply: StoreReply) => this.settle(reply))
    worker.on('error', (err) => this.failAll(`storage thread failed: ${err.message}`))
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = null
      this.failAll(`storage thread exited with code ${code}`)
    })
    return worker
  }

  private call<T>(op: StoreOpName, ...args: unknown[]): Promise<T> {
    const worker = (this.worker ??= this.start())
    const id = this.nextId++
    if (this.calls.size === 0) worker.ref()
    return new Promise<T>((resolve, reject) => {
      this.calls.set(id, { resolve: resolve as (value: unknown) => void, reject })
      worker.postMessage({ id, op, args })
    })
  }

  private settle(reply: StoreReply): void {
    const call = this.calls.get(reply.id)
    if (!call) return
    this.calls.delete(reply.id)
    if (this.calls.size === 0) this.worker?.unref()
    if ('error' in reply) call.reject(errorFromData(reply.error))
    else call.resolve(reply.value)
  }

  private failAll(message: string): void {
    const calls = [...this.calls.values()]
    this.calls.clear()
    for (const call of calls) call.reject(new YrelayError(ErrorCode.STORAGE_UNAVAILABLE, message))
  }

  init(): Promise<StoreCapabilities> {
    return this.call('init')
  }

  ping(): Promise<void> {
    return this.call('ping')
  }

  get(key: string): Promise<Uint8Array | null> {
    return this.call('get', key)
  }

  head(key: string): Promise<ObjectHead | null> {
    return this.call('head', key)
  }

  put(key: string, body: Uint8Array, options?: PutOptions): Promise<void> {
    return this.call('put', key, body, options)
  }

  delete(keys: string[]): Promise<void> {
    return this.call('delete', keys)
  }

  list(prefix: string, options?: ListOptions): Promise<ListPage> {
    return this.call('list', prefix, options)
  }

  async close(): Promise<void> {
    const worker = this.worker
    if (!worker) return
    // The thread goes whether or not its close answered (a hung or failed close included).
    try {
      await this.call('close')
    } finally {
      this.worker = null
      await worker.terminate()
    }
  }
}
