/**
 * Wraps a store and counts its requests by operation and outcome, so storage cost can be
 * measured (tests, benchmarks) and exported (metrics) without touching the backends.
 */
import type { ListOptions, ObjectStore, PutOptions, StoreCapabilities } from './object-store.js'

export type StoreOp = 'get' | 'head' | 'put' | 'delete' | 'list' | 'ping'

export interface StoreOpCount {
  ok: number
  error: number
  /** Bytes written by put or read by get. */
  bytes: number
}

export class InstrumentedStore implements ObjectStore {
  readonly counts: Record<StoreOp, StoreOpCount> = {
    get: { ok: 0, error: 0, bytes: 0 },
    head: { ok: 0, error: 0, bytes: 0 },
    put: { ok: 0, error: 0, bytes: 0 },
    delete: { ok: 0, error: 0, bytes: 0 },
    list: { ok: 0, error: 0, bytes: 0 },
    ping: { ok: 0, error: 0, bytes: 0 },
  }

  constructor(readonly inner: ObjectStore) {}

  get kind(): ObjectStore['kind'] {
    return this.inner.kind
  }

  private async track<T>(op: StoreOp, run: () => Promise<T>, bytesOf?: (result: T) => number): Promise<T> {
    try {
      const result = await run()
      this.counts[op].ok++
      if (bytesOf) this.counts[op].bytes += bytesOf(result)
      return result
    } catch (err) {
      this.counts[op].error++
      throw err
    }
  }

  init(): Promise<StoreCapabilities> {
    return this.inner.init()
  }

  close(): Promise<void> {
    return this.inner.close()
  }

  get(key: string): Promise<Uint8Array | null> {
    return this.track('get', () => this.inner.get(key), (b) => b?.byteLength ?? 0)
  }

  head(key: string) {
    return this.track('head', () => this.inner.head(key))
  }

  put(key: string, body: Uint8Array, options?: PutOptions): Promise<void> {
    return this.track('put', () => this.inner.put(key, body, options), () => body.byteLength)
  }

  /** Counts one request per 1,000 keys, as S3 bills a DeleteObjects batch. */
  async delete(keys: string[]): Promise<void> {
    await this.inner.delete(keys).catch((err: unknown) => {
      this.counts.delete.error++
      throw err
    })
    this.counts.delete.ok += Math.ceil(keys.length / 1000)
  }

  list(prefix: string, options?: ListOptions) {
    return this.track('list', () => this.inner.list(prefix, options))
  }

  ping(): Promise<void> {
    return this.track('ping', () => this.inner.ping())
  }

  total(op: StoreOp): number {
    return this.counts[op].ok + this.counts[op].error
  }
}
