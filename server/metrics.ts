/**
 * The relay's Prometheus metrics (prom-client), owned here: one registry per relay, created
 * with it and handed to whatever counts. Counters on the per-message path are unlabelled
 * (an increment costs a few nanoseconds); labelled ones are counted off the hot path.
 * Gauges that mirror state (connections, rooms, store requests) are read when scraped.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { InstrumentedStore, StoreOp } from './store/instrumented-store.js'

/** What the relay exposes for its gauges; read at scrape time. */
export interface RelayGauges {
  connections(): number
  rooms(): number
  roomLoads(): number
}

export interface Refusal {
  at: number
  code: string
  /** Where it happened: "websocket", "http", or what a quota rule names. */
  via: string
  doc?: string
  message: string
}

const RECENT_REFUSALS = 50

export class Metrics {
  readonly registry = new Registry()

  readonly connectionsOpened = this.counter('yrelay_connections_opened_total', 'WebSocket connections admitted to a room')
  readonly updatesIn = this.counter('yrelay_updates_received_total', 'document updates received from clients and accepted')
  readonly updatesOut = this.counter('yrelay_updates_sent_total', 'document updates forwarded to peers (one per receiving connection)')
  readonly updateBytesIn = this.counter('yrelay_update_bytes_received_total', 'bytes of accepted document updates')
  readonly bytesIn = this.counter('yrelay_websocket_bytes_received_total', 'WebSocket message bytes received')
  readonly bytesOut = this.counter('yrelay_websocket_bytes_sent_total', 'WebSocket message bytes sent')
  readonly messagesOut = this.counter('yrelay_websocket_messages_sent_total', 'WebSocket messages sent')
  readonly flushSeconds = new Histogram({
    name: 'yrelay_flush_duration_seconds',
    help: 'time to write one flushed batch of updates to storage (successful writes)',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  })
  readonly flushFailures = this.counter('yrelay_flush_failures_total', 'flushes that failed and will be retried')
  readonly compactions = new Counter({
    name: 'yrelay_compactions_total',
    help: 'compactions by outcome: done (snapshot written), noop (nothing to compact), failed',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  })
  readonly authRefusals = new Counter({
    name: 'yrelay_auth_refusals_total',
    help: 'connections and requests refused at admission (token, scope, role, name, version), by error code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  })
  readonly refusals = new Counter({
    name: 'yrelay_refusals_total',
    help: 'every refusal (admission, malformed or oversized messages, limits), by error code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  })
  readonly quotaRefusals = new Counter({
    name: 'yrelay_quota_refusals_total',
    help: 'writes refused by a quota, by kind (storedBytes, documents, documentBytes, blobBytes, rate, connections...)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  })
  private readonly recent: Refusal[] = []
  private redisGauge: Gauge | undefined

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'yrelay_' })
  }

  private counter(name: string, help: string): Counter {
    return new Counter({ name, help, registers: [this.registry] })
  }

  /**
   * 1 while the Redis connection is up, 0 while it is down. Created when the Redis fan-out
   * first sets it, so a relay without Redis does not report a Redis that looks down.
   */
  get redisConnected(): Gauge {
    this.redisGauge ??= new Gauge({
      name: 'yrelay_redis_connected',
      help: '1 while the Redis connection is up, 0 while it is down (only when REDIS_URL is set)',
      registers: [this.registry],
    })
    return this.redisGauge
  }

  async redisState(): Promise<'off' | 'connected' | 'down'> {
    if (!this.redisGauge) return 'off'
    return (await this.redisGauge.get()).values[0]?.value === 1 ? 'connected' : 'down'
  }

  /** Connection and room gauges, read from the relay when scraped. */
  observeRelay(relay: RelayGauges): void {
    new Gauge({ name: 'yrelay_connections', help: 'open WebSocket connections', registers: [this.registry], collect() { this.set(relay.connections()) } })
    new Gauge({ name: 'yrelay_rooms_loaded', help: 'documents open in memory', registers: [this.registry], collect() { this.set(relay.rooms()) } })
    new Counter({
      name: 'yrelay_room_loads_total',
      help: 'documents loaded from storage',
      registers: [this.registry],
      collect() {
        this.reset()
        this.inc(relay.roomLoads())
      },
    })
  }

  /** Storage requests as the instrumented store counts them, by operation and outcome. */
  observeStore(store: InstrumentedStore): void {
    const ops = Object.keys(store.counts) as StoreOp[]
    new Counter({
      name: 'yrelay_store_requests_total',
      help: 'storage requests (S3 or directory) by operation and outcome; a DeleteObjects batch of up to 1,000 keys is one',
      labelNames: ['op', 'outcome'] as const,
      registers: [this.registry],
      collect() {
        this.reset()
        for (const op of ops) {
          this.inc({ op, outcome: 'ok' }, store.counts[op].ok)
          this.inc({ op, outcome: 'error' }, store.counts[op].error)
        }
      },
    })
    new Counter({
      name: 'yrelay_store_bytes_total',
      help: 'bytes written to storage (put) and read from it (get)',
      labelNames: ['op'] as const,
      registers: [this.registry],
      collect() {
        this.reset()
        this.inc({ op: 'put' }, store.counts.put.bytes)
        this.inc({ op: 'get' }, store.counts.get.bytes)
      },
    })
  }

  /**
   * Records a refusal: counted by code, kept among the recent ones for the dashboard.
   * `auth` marks refusals of the access decision; `quotaKind` those of a quota rule.
   */
  refused(refusal: Omit<Refusal, 'at'> & { auth?: boolean; quotaKind?: string }): void {
    const { auth, quotaKind, ...entry } = refusal
    this.refusals.inc({ code: entry.code })
    if (auth) this.authRefusals.inc({ code: entry.code })
    if (quotaKind !== undefined) this.quotaRefusals.inc({ kind: quotaKind })
    this.recent.push({ at: Date.now(), ...entry })
    if (this.recent.length > RECENT_REFUSALS) this.recent.shift()
  }

  /** The latest refusals, newest first. */
  recentRefusals(): Refusal[] {
    return this.recent.slice().reverse()
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() }
  }
}
