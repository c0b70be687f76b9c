/**
 * The relay process's network side: one HTTP server carrying the WebSocket sync endpoint
 * (/v1/sync/<doc>) and the HTTP API, the open rooms, and graceful draining.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import { checkDocName } from '../../shared/doc-name.js'
import { CloseCode, ErrorCode } from '../../shared/errors.js'
import { SYNC_PATH_PREFIX, encodeErrorMessage } from '../../shared/protocol.js'
import type { Config } from '../config.js'
import { DocStore } from '../docs/doc-store.js'
import { singleTenantRef } from '../docs/layout.js'
import type { Logger } from '../logger.js'
import type { ObjectStore } from '../store/object-store.js'
import { Connection } from './connection.js'
import { handleHttp } from './http-api.js'
import { LimitedWebSocket } from './limited-websocket.js'
import { Rooms } from './rooms.js'

export type RelayConfig = Pick<
  Config,
  'PORT' | 'HOST' | 'FLUSH_MS' | 'FLUSH_BYTES' | 'MAX_MESSAGE_BYTES' | 'MAX_BUFFERED_BYTES' | 'COMPACT_LOG_COUNT' | 'COMPACT_LOG_BYTES' | 'SNAPSHOT_RETENTION'
>

export interface RelayOptions {
  config: RelayConfig
  store: ObjectStore
  instanceId: string
  logger: Logger
}

export class Relay {
  readonly rooms: Rooms
  readonly docs: DocStore
  private readonly http: Server
  private readonly wss: WebSocketServer
  private readonly connections = new Set<Connection>()
  private nextConnectionId = 1
  private draining = false

  constructor(private readonly options: RelayOptions) {
    const { config, store, logger } = options
    this.docs = new DocStore(store, { instanceId: options.instanceId, snapshotRetention: config.SNAPSHOT_RETENTION, logger })
    this.rooms = new Rooms(
      this.docs,
      {
        flushMs: config.FLUSH_MS,
        flushBytes: config.FLUSH_BYTES,
        compactLogCount: config.COMPACT_LOG_COUNT,
        compactLogBytes: config.COMPACT_LOG_BYTES,
      },
      logger,
    )
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: config.MAX_MESSAGE_BYTES,
      perMessageDeflate: false,
      WebSocket: LimitedWebSocket,
    })
    this.http = createServer((req, res) => {
      handleHttp(req, res, { store, draining: () => this.draining, rooms: () => this.rooms.size }).catch((err: unknown) => {
        logger.error({ err, path: req.url }, 'http handler failed')
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
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, path.slice(SYNC_PATH_PREFIX.length), new URLSearchParams(query)))
  }

  private onConnection(ws: WebSocket, name: string, params: URLSearchParams): void {
    const ext = params.get('ext') === '1'
    const refuse = (closeCode: number, code: string, message: string) => {
      this.options.logger.info({ doc: name.slice(0, 600), code, closeCode, reason: message }, 'connection refused')
      if (ext) ws.send(encodeErrorMessage(code, message))
      ws.close(closeCode, message.slice(0, 123))
    }
    if (this.draining) {
      refuse(CloseCode.DRAINING, ErrorCode.DRAINING, 'relay is shutting down; reconnect to another instance')
      return
    }
    const check = checkDocName(name)
    if (!check.ok) {
      refuse(CloseCode.BAD_DOC_NAME, ErrorCode.BAD_DOC_NAME, `bad document name: ${check.reason}`)
      return
    }
    const room = this.rooms.open(name, singleTenantRef(name))
    const conn = new Connection(this.nextConnectionId++, ws, room, ext, this.options.config.MAX_BUFFERED_BYTES, this.options.logger)
    this.connections.add(conn)
    ws.on('close', () => this.connections.delete(conn))
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
    for (const conn of this.connections) conn.close(CloseCode.DRAINING, 'relay draining; reconnect shortly')
    this.wss.close()
    // Updates that arrived while the first flush ran are written now that no more can come.
    const failed = await this.rooms.flushAll()
    await this.rooms.settle()
    this.http.closeAllConnections()
    if (failed.length > 0) {
      throw new Error(`${failed.length} document(s) could not be written: ${failed.map((f) => f.room.name).join(', ')}`)
    }
  }
}
