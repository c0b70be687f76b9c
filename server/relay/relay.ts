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
import type { Access, AccessPolicy, Principal } from '../auth/access.js'
import type { Cluster } from '../cluster/link.js'
import type { Config } from '../config.js'
import { DocStore } from '../docs/doc-store.js'
import type { Logger } from '../logger.js'
import { Metrics } from '../metrics.js'
import { InstrumentedStore } from '../store/instrumented-store.js'
import { handleDashboard, isDashboardPath, type DashboardContext } from '../admin/dashboard.js'
import type { ObjectStore } from '../store/object-store.js'
import { Connection, refuseSocket } from './connection.js'
import { handleHttp } from './http-api.js'
import { LimitedWebSocket } from './limited-websocket.js'
import { createRequestLogger } from './request-log.js'
import { Rooms } from './rooms.js'
import { WriteBacklog } from './write-backlog.js'

export type RelayConfig = Pick<
  Config,
  'PORT' | 'HOST' | 'FLUSH_MS' | 'FLUSH_BYTES' | 'MAX_MESSAGE_BYTES' | 'MAX_BUFFERED_BYTES' | 'MAX_PENDING_BYTES' | 'COMPACT_LOG_COUNT' | 'COMPACT_LOG_BYTES' | 'SNAPSHOT_RETENTION'
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
}

/** `auth` marks refusals of the access decision (token, scope, role, name), counted apart. */
type Admission = { ok: true; principal: Principal; access: Access } | { ok: false; error: YrelayError; auth: boolean }

export class Relay {
  readonly rooms: Rooms
  readonly docs: DocStore
  readonly backlog: WriteBacklog
  readonly metrics: Metrics
  readonly cluster: Cluster | undefined
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
    this.rooms = new Rooms(
      this.docs,
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
      connections: () => this.connections.size,
      rooms: () => this.rooms.all().map((r) => ({ name: r.name, connections: r.peers.size, state: r.state })),
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
    return { port, url: `ws://${host}:${port}${SYNC_PATH_PREFIX.slice(0, -1)}` }
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
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(id, ws, name, params.get('ext') === '1', admission)),
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
      const bearer = authorization?.match(/^Bearer (.+)$/i)?.[1]
      auth = true
      const principal = await this.options.access.authenticate(params.get('token') ?? bearer)
      return { ok: true, principal, access: this.options.access.authorize(principal, name) }
    } catch (err) {
      if (isYrelayError(err)) return { ok: false, error: err, auth }
      this.options.logger.error({ err }, 'admission failed')
      return { ok: false, error: new YrelayError(ErrorCode.INTERNAL, 'the relay could not admit this connection; retry shortly'), auth: false }
    }
  }

  private onConnection(id: number, ws: WebSocket, name: string, ext: boolean, admission: Admission): void {
    if (this.draining && admission.ok) {
      admission = { ok: false, error: new YrelayError(ErrorCode.DRAINING, 'relay is shutting down; reconnect to another instance'), auth: false }
    }
    if (!admission.ok) {
      const doc = name.slice(0, 600)
      refuseSocket(ws, ext, admission.error, this.options.logger.child({ conn: id, doc }), this.metrics, { doc, auth: admission.auth })
      return
    }
    const { access, principal } = admission
    const roomName = access.ref.scope + access.ref.path
    const room = this.rooms.open(roomName, access.ref)
    const conn = new Connection(id, ws, room, {
      ext,
      canWrite: access.canWrite,
      expiresAt: principal.expiresAt,
      maxBufferedBytes: this.options.config.MAX_BUFFERED_BYTES,
      logger: this.options.logger,
      metrics: this.metrics,
    })
    this.metrics.connectionsOpened.inc()
    this.connections.add(conn)
    const opened = Date.now()
    this.options.logger.info({ conn: id, doc: roomName, sub: principal.sub, role: access.role, ext }, 'connection opened')
    ws.on('close', (code: number) => {
      this.connections.delete(conn)
      this.options.logger.info({ conn: id, doc: roomName, code, ms: Date.now() - opened }, 'connection closed')
    })
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
    await this.cluster?.close()
    this.http.closeAllConnections()
    if (failed.length > 0) {
      throw new Error(`${failed.length} document(s) could not be written: ${failed.map((f) => f.room.name).join(', ')}`)
    }
  }
}
