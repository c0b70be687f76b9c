/**
 * The relay process's network side: one HTTP server carrying the WebSocket sync endpoint
 * (/v1/sync/<doc>) and the HTTP API, the open rooms, and graceful draining.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import { ErrorCode, YrelayError, closeCodeFor, isYrelayError } from '../../shared/errors.js'
import { PROTOCOL_VERSION, SYNC_PATH_PREFIX } from '../../shared/protocol.js'
import type { ApiConfig, ApiContext } from '../api/api-context.js'
import { tokenOf, type Access, type AccessPolicy, type Principal } from '../auth/access.js'
import type { BlobUrlSigner } from '../blobs/blob-urls.js'
import { LocalUrlSigner } from '../blobs/local-url-signer.js'
import type { Cluster } from '../cluster/link.js'
import type { Config } from '../config.js'
import { DocStore } from '../docs/doc-store.js'
import { Tombstones } from '../docs/tombstones.js'
import { ChangeFeed } from '../events/change-feed.js'
import type { Logger } from '../logger.js'
import { Metrics } from '../metrics.js'
import { InstrumentedStore } from '../store/instrumented-store.js'
import { handleDashboard, isDashboardPath, type DashboardContext } from '../admin/dashboard.js'
import { needsUsage, type ScopeLimitSet } from '../quota/limits.js'
import { LimitsBook } from '../quota/limits-book.js'
import { UsageTracker } from '../quota/usage.js'
import { UsageWebhook } from '../quota/usage-webhook.js'
import { WriteGate } from '../quota/write-gate.js'
import type { ObjectStore } from '../store/object-store.js'
import { Connection, refuseSocket } from './connection.js'
import { handleHttp } from './http-api.js'
import { LimitedWebSocket } from './limited-websocket.js'
import { createRequestLogger } from './request-log.js'
import type { RoomObserver } from './room.js'
import { Rooms } from './rooms.js'
import { WriteBacklog } from './write-backlog.js'

export type RelayConfig = ApiConfig &
  Pick<
    Config,
    | 'PORT'
    | 'HOST'
    | 'PUBLIC_URL'
    | 'FLUSH_MS'
    | 'FLUSH_BYTES'
    | 'MAX_BUFFERED_BYTES'
    | 'MAX_PENDING_BYTES'
    | 'COMPACT_LOG_COUNT'
    | 'COMPACT_LOG_BYTES'
    | 'SNAPSHOT_RETENTION'
    | 'LIMIT_CONNECTIONS'
    | 'LIMIT_CONNECTIONS_PER_USER'
    | 'USAGE_WEBHOOK_URL'
    | 'USAGE_WEBHOOK_SECRET'
    | 'USAGE_WEBHOOK_INTERVAL_MS'
  > &
  Partial<Pick<Config, 'ADMIN_TOKEN' | 'METRICS_TOKEN' | 'TENANCY'>>

export interface RelayOptions {
  config: RelayConfig
  store: ObjectStore
  access: AccessPolicy
  instanceId: string
  logger: Logger
  /** The relay makes its own when none is given. */
  metrics?: Metrics
  /** Shares rooms with other relays (Redis or polling the store); absent for a lone relay. */
  cluster?: (docs: DocStore, metrics: Metrics) => Cluster
  /** Signs blob URLs; the S3 presigner for S3 stores. Default: the relay signs its own (directory store). */
  signer?: BlobUrlSigner
}

/** How often usage is listed again to see what other relays wrote. */
const USAGE_REFRESH_MS = 5 * 60_000
const FEED_WINDOW = 10_000
const HEARTBEAT_MS = 30_000

/** `auth` marks refusals of the access decision (token, scope, role, name), counted apart. */
type Admission = { ok: true; principal: Principal; access: Access; limits: ScopeLimitSet } | { ok: false; error: YrelayError; auth: boolean }

export class Relay {
  readonly rooms: Rooms
  readonly docs: DocStore
  readonly backlog: WriteBacklog
  readonly metrics: Metrics
  readonly cluster: Cluster | undefined
  readonly usage: UsageTracker
  readonly limits: LimitsBook
  private readonly webhook: UsageWebhook | undefined
  readonly feed: ChangeFeed
  private readonly tombstones: Tombstones
  private api: ApiContext | undefined
  private readonly perUser = new Map<string, number>()
  private readonly http: Server
  private readonly wss: WebSocketServer
  private readonly connections = new Set<Connection>()
  private nextConnectionId = 1
  private draining = false

  constructor(private readonly options: RelayOptions) {
    const { config, store, logger } = options
    this.metrics = options.metrics ?? new Metrics()
    this.metrics.observeRelay({ connections: () => this.connections.size, rooms: () => this.rooms.size, roomLoads: () => this.rooms.loads })
    if (store instanceof InstrumentedStore) this.metrics.observeStore(store)
    this.backlog = new WriteBacklog(config.MAX_PENDING_BYTES)
    this.docs = new DocStore(store, { instanceId: options.instanceId, snapshotRetention: config.SNAPSHOT_RETENTION, logger })
    const cluster = (this.cluster = options.cluster?.(this.docs, this.metrics))
    this.tombstones = new Tombstones(store)
    this.feed = new ChangeFeed({ windowSize: FEED_WINDOW, heartbeatMs: HEARTBEAT_MS, share: cluster?.feed })
    if (config.USAGE_WEBHOOK_URL && config.USAGE_WEBHOOK_SECRET) {
      this.webhook = new UsageWebhook({ url: config.USAGE_WEBHOOK_URL, secret: config.USAGE_WEBHOOK_SECRET, intervalMs: config.USAGE_WEBHOOK_INTERVAL_MS, logger })
    }
    const webhook = this.webhook
    this.usage = new UsageTracker(store, { refreshMs: USAGE_REFRESH_MS, logger, onChange: webhook && ((summary) => webhook.notify(summary)), share: cluster?.usage })
    const usage = this.usage
    this.limits = new LimitsBook(config)
    const feed = this.feed
    const observer: RoomObserver = {
      accepted: (room, bytes) => usage.accepted(room.ref.scope, room.ref.path, bytes),
      settled: (room, accepted, written) => {
        usage.settled(room.ref.scope, room.ref.path, accepted, written)
        if (written > 0) feed.publish({ type: 'doc.changed', scope: room.ref.scope, name: room.name, updatedAt: new Date().toISOString() })
      },
      compacted: (room, result) => usage.compacted(room.ref.scope, room.ref.path, result.snapshotBytes, result.deletedBytes),
    }
    this.rooms = new Rooms(
      { docs: this.docs, tombstones: this.tombstones, observer },
      {
        flushMs: config.FLUSH_MS,
        flushBytes: config.FLUSH_BYTES,
        compactLogCount: config.COMPACT_LOG_COUNT,
        compactLogBytes: config.COMPACT_LOG_BYTES,
        backlog: this.backlog,
      },
      logger,
      this.metrics,
      cluster && ((room) => cluster.link(room)),
    )
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: config.MAX_MESSAGE_BYTES,
      perMessageDeflate: false,
      WebSocket: LimitedWebSocket,
    })
    const requestLog = createRequestLogger(logger, options.instanceId)
    const dashboard: DashboardContext = {
      adminToken: config.ADMIN_TOKEN,
      instanceId: options.instanceId,
      tenancy: config.TENANCY ?? 'single',
      store,
      docs: this.docs,
      metrics: this.metrics,
      usage: this.usage,
      limits: this.limits,
      connections: () => this.connections.size,
      rooms: () => this.rooms.all().map((r) => ({ name: r.name, scope: r.ref.scope, connections: r.peers.size, state: r.state })),
    }
    this.http = createServer((req, res) => {
      requestLog(req, res)
      const path = (req.url ?? '/').split('?')[0]!
      const handled = isDashboardPath(path)
        ? handleDashboard(req, res, path, dashboard)
        : handleHttp(req, res, {
            store,
            draining: () => this.draining,
            rooms: () => this.rooms.size,
            backlog: this.backlog,
            metrics: this.metrics,
            metricsToken: config.METRICS_TOKEN,
            clusterUnready: () => cluster?.unreadyReason() ?? null,
            api: this.api!,
          })
      handled.catch((err: unknown) => {
        req.log.error({ err }, 'http handler failed')
        if (!res.headersSent) res.writeHead(500).end()
      })
    })
    this.http.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head))
  }

  get connectionCount(): number {
    return this.connections.size
  }

  async listen(): Promise<{ port: number; url: string }> {
    const { PORT, HOST } = this.options.config
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject)
      this.http.listen(PORT, HOST, () => {
        this.http.off('error', reject)
        resolve()
      })
    })
    const port = (this.http.address() as AddressInfo).port
    const host = HOST.includes(':') ? `[${HOST}]` : HOST
    this.startApi(this.options.config.PUBLIC_URL ?? `http://${host}:${port}`)
    return { port, url: `ws://${host}:${port}${SYNC_PATH_PREFIX.slice(0, -1)}` }
  }

  /** The HTTP API's services; blob URLs name the address clients reach the relay at. */
  private startApi(publicUrl: string): void {
    const { config, store, access, logger } = this.options
    const localSigner = this.options.signer ? undefined : new LocalUrlSigner(store, publicUrl)
    this.api = {
      config,
      access,
      store,
      docs: this.docs,
      rooms: this.rooms,
      tombstones: this.tombstones,
      usage: this.usage,
      limits: this.limits,
      feed: this.feed,
      signer: this.options.signer ?? localSigner!,
      localSigner,
      cluster: this.cluster,
      logger,
    }
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const [path = '', query = ''] = (req.url ?? '').split('?', 2)
    if (!path.startsWith(SYNC_PATH_PREFIX)) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n' +
        JSON.stringify({ error: { code: ErrorCode.NOT_FOUND, message: `WebSocket clients connect to ${SYNC_PATH_PREFIX}<document>` } }))
      return
    }
    const params = new URLSearchParams(query)
    const name = path.slice(SYNC_PATH_PREFIX.length)
    const id = this.nextConnectionId++
    void this.admit(name, params, req.headers.authorization).then((admission) =>
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(id, ws, socket, name, params.get('ext') === '1', admission)),
    )
  }

  /**
   * Decides before the upgrade whether this connection may open this document, so no frame
   * can arrive while the token is being verified. Refusals still complete the upgrade and
   * then close with a 44xx code, which browsers can read and plain HTTP statuses they cannot.
   */
  private async admit(name: string, params: URLSearchParams, authorization: string | undefined): Promise<Admission> {
    let auth = false
    try {
      if (this.draining) throw new YrelayError(ErrorCode.DRAINING, 'relay is shutting down; reconnect to another instance')
      const version = params.get('v')
      if (version !== null) {
        if (!/^[1-9][0-9]{0,5}$/.test(version)) throw new YrelayError(ErrorCode.BAD_REQUEST, `v must be a protocol version number, got ${JSON.stringify(version.slice(0, 20))}`)
        if (Number(version) > PROTOCOL_VERSION) {
          throw new YrelayError(ErrorCode.PROTOCOL_UNSUPPORTED, `client speaks protocol ${version}, this relay at most ${PROTOCOL_VERSION}: upgrade the relay or use an older client`)
        }
      }
      auth = true
      const principal = await this.options.access.authenticate(tokenOf(params, authorization))
      const access = this.options.access.authorize(principal, name)
      const limits = this.limits.for(principal, access.ref.scope)
      // Writes are checked against the scope's stored usage, which must be known first.
      if (access.canWrite && needsUsage(limits)) await this.usage.ensure(access.ref.scope)
      return { ok: true, principal, access, limits }
    } catch (err) {
      if (isYrelayError(err)) return { ok: false, error: err, auth }
      this.options.logger.error({ err }, 'admission failed')
      return { ok: false, error: new YrelayError(ErrorCode.INTERNAL, 'the relay could not admit this connection; retry shortly'), auth: false }
    }
  }

  private onConnection(id: number, ws: WebSocket, socket: Duplex, name: string, ext: boolean, admission: Admission): void {
    if (this.draining && admission.ok) {
      admission = { ok: false, error: new YrelayError(ErrorCode.DRAINING, 'relay is shutting down; reconnect to another instance'), auth: false }
    }
    if (!admission.ok) {
      const doc = name.slice(0, 600)
      refuseSocket(ws, ext, admission.error, this.options.logger.child({ conn: id, doc }), this.metrics, { doc, auth: admission.auth })
      return
    }
    const { access, principal, limits } = admission
    const { config } = this.options
    const tooMany = this.connectionLimit(principal)
    if (tooMany) {
      refuseSocket(ws, ext, tooMany, this.options.logger.child({ conn: id, doc: name.slice(0, 600) }), this.metrics, { doc: name.slice(0, 600), quotaKind: 'connections' })
      return
    }
    const roomName = access.ref.scope + access.ref.path
    const room = this.rooms.open(roomName, access.ref)
    const conn = new Connection(id, ws, room, {
      ext,
      canWrite: access.canWrite,
      expiresAt: principal.expiresAt,
      maxBufferedBytes: config.MAX_BUFFERED_BYTES,
      socket,
      gate: new WriteGate(limits, this.usage),
      logger: this.options.logger,
      metrics: this.metrics,
    })
    this.metrics.connectionsOpened.inc()
    this.connections.add(conn)
    const opened = Date.now()
    this.options.logger.info({ conn: id, doc: roomName, sub: principal.sub, role: access.role, ext }, 'connection opened')
    const sub = principal.sub
    if (sub !== null) this.perUser.set(sub, (this.perUser.get(sub) ?? 0) + 1)
    ws.on('close', (code: number) => {
      this.connections.delete(conn)
      this.options.logger.info({ conn: id, doc: roomName, code, ms: Date.now() - opened }, 'connection closed')
      if (sub === null) return
      const left = (this.perUser.get(sub) ?? 1) - 1
      if (left > 0) this.perUser.set(sub, left)
      else this.perUser.delete(sub)
    })
  }

  private connectionLimit(principal: Principal): YrelayError | null {
    const { LIMIT_CONNECTIONS: total, LIMIT_CONNECTIONS_PER_USER: perUser } = this.options.config
    if (total > 0 && this.connections.size >= total) {
      return new YrelayError(ErrorCode.TOO_MANY_CONNECTIONS, `the relay is at its ${total} connections (LIMIT_CONNECTIONS); retry shortly`)
    }
    if (perUser > 0 && principal.sub !== null && (this.perUser.get(principal.sub) ?? 0) >= perUser) {
      return new YrelayError(ErrorCode.TOO_MANY_CONNECTIONS, `you have ${perUser} connections open to this relay (LIMIT_CONNECTIONS_PER_USER); close some documents or tabs`)
    }
    return null
  }

  /**
   * Stops accepting, writes every room's pending updates, closes clients with 4503 so they
   * reconnect elsewhere, and waits for background work. Rejects if some updates could not be
   * written (their clients still hold them and send them again on their next sync).
   */
  async drain(): Promise<void> {
    this.draining = true
    this.http.close()
    await this.rooms.flushAll()
    for (const conn of this.connections) conn.close(closeCodeFor(ErrorCode.DRAINING), 'relay draining; reconnect shortly')
    this.wss.close()
    // Updates that arrived while the first flush ran are written now that no more can come.
    const failed = await this.rooms.flushAll()
    await this.rooms.settle()
    this.feed.close()
    this.webhook?.close()
    await this.cluster?.close()
    this.http.closeAllConnections()
    if (failed.length > 0) {
      throw new Error(`${failed.length} document(s) could not be written: ${failed.map((f) => f.room.name).join(', ')}`)
    }
  }
}
