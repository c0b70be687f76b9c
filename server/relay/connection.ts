/**
 * One WebSocket connection to one room: parses each frame once, queues frames until the
 * room is loaded, dispatches to the room, and turns every refusal into a close code.
 */
import type { Duplex } from 'node:stream'
import type { WebSocket } from 'ws'
import { ErrorCode, YrelayError, closeCodeFor, isYrelayError } from '../../shared/errors.js'
import { encodeErrorMessage, encodePermissionDenied, isEmptyUpdate, parseMessage } from '../../shared/protocol.js'
import type { Logger } from '../logger.js'
import type { Metrics } from '../metrics.js'
import { QuotaError, type WriteGate } from '../quota/write-gate.js'
import type { Peer, Room } from './room.js'

const PING_INTERVAL_MS = 30_000
/** Frames a client may send before its room has loaded; more means it is not waiting for sync. */
const MAX_QUEUED_FRAMES = 1000
/** setTimeout's longest delay; later expiries are re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1

export interface ConnectionOptions {
  /** Opted in to extension messages. */
  ext: boolean
  /** False for viewers: their document updates are refused and applied to nobody. */
  canWrite: boolean
  /** When the token expires (ms since the epoch); the connection closes with 4401 then. */
  expiresAt: number | null
  maxBufferedBytes: number
  /** The connection's TCP socket, corked while a tick's frames to it are queued. */
  socket: Duplex
  /** Rate and plan limits for this connection's writes; absent: unlimited. */
  gate?: WriteGate
  logger: Logger
  metrics: Metrics
}

export class Connection implements Peer {
  receivedUpdates = 0
  savedUpdates = 0
  readonly awarenessIds = new Set<number>()
  private queue: Uint8Array[] | null = []
  private queuedBytes = 0
  private alive = true
  private readonly pinger: NodeJS.Timeout
  private expiry: NodeJS.Timeout | undefined
  readonly ext: boolean
  private readonly canWrite: boolean
  private readonly gate?: WriteGate
  private readonly maxBufferedBytes: number
  private readonly socket: Duplex
  private corked = false
  private readonly logger: Logger
  private readonly metrics: Metrics

  constructor(
    readonly id: number,
    private readonly ws: WebSocket,
    private readonly room: Room,
    options: ConnectionOptions,
  ) {
    this.ext = options.ext
    this.canWrite = options.canWrite
    this.gate = options.gate
    this.maxBufferedBytes = options.maxBufferedBytes
    this.socket = options.socket
    this.logger = options.logger
    this.metrics = options.metrics
    ws.binaryType = 'nodebuffer'
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onFrame(data, isBinary))
    ws.on('close', () => this.onClose())
    ws.on('error', (err) => this.logger.debug({ conn: id, err }, 'websocket error'))
    ws.on('pong', () => {
      this.alive = true
    })
    // Half-open TCP connections never close by themselves: a missed pong ends them.
    this.pinger = setInterval(() => {
      if (!this.alive) {
        ws.terminate()
        return
      }
      this.alive = false
      ws.ping()
    }, PING_INTERVAL_MS)
    this.pinger.unref()
    if (options.expiresAt !== null) this.closeAt(options.expiresAt)
    room.join(this)
    room.ready.then(
      () => this.start(),
      () => {},
    )
  }

  private closeAt(expiresAt: number): void {
    const wait = expiresAt - Date.now()
    this.expiry = setTimeout(() => {
      if (Date.now() < expiresAt) this.closeAt(expiresAt)
      else this.refuse(new YrelayError(ErrorCode.UNAUTHORIZED, 'token expired: reconnect with a fresh token'))
    }, Math.min(Math.max(0, wait), MAX_TIMER_MS))
    this.expiry.unref()
  }

  private start(): void {
    if (this.ws.readyState !== this.ws.OPEN) return
    this.room.greet(this)
    const queued = this.queue ?? []
    this.queue = null
    for (const frame of queued) {
      if (!this.handle(frame)) return
    }
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
    // ws still emits the frames it had already received after close() or terminate(): once a
    // connection is refused or dropped, nothing more it sent may be applied or answered.
    if (this.ws.readyState !== this.ws.OPEN) return
    if (!isBinary) {
      this.refuse(new YrelayError(ErrorCode.BAD_MESSAGE, 'text frames are not part of the protocol; send binary frames'))
      return
    }
    const frame = new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    this.metrics.bytesIn.inc(frame.byteLength)
    if (this.queue) {
      this.queuedBytes += frame.byteLength
      if (this.queue.length >= MAX_QUEUED_FRAMES || this.queuedBytes > this.maxBufferedBytes) {
        this.refuse(new YrelayError(ErrorCode.RATE_LIMITED, 'too many messages before the document loaded; wait for sync'))
        return
      }
      this.queue.push(frame)
      return
    }
    this.handle(frame)
  }

  /** Returns false when the connection was closed for this frame. */
  private handle(frame: Uint8Array): boolean {
    try {
      const msg = parseMessage(frame)
      switch (msg.type) {
        case 'sync-step1':
          this.room.onSyncStep1(this, msg.stateVector)
          break
        case 'sync-update':
          // A viewer's empty update changes nothing: it is counted and acknowledged like a
          // writer's, so a viewer without local changes is "saved".
          if (isEmptyUpdate(msg.update)) this.room.onUpdate(this, frame, msg.syncType, msg.update)
          else if (!this.canWrite) this.refuseUpdate(ErrorCode.FORBIDDEN, 'read-only access: your role on this document is viewer, so your changes were not applied')
          else if (this.admit(msg.update)) this.room.onUpdate(this, frame, msg.syncType, msg.update)
          break
        case 'awareness':
          this.room.onAwareness(this, frame, msg.update)
          break
        case 'query-awareness':
          this.room.onQueryAwareness(this)
          break
        case 'auth':
          break
      }
      return true
    } catch (err) {
      // parseMessage throws plain errors for malformed frames; the room throws typed ones.
      const error = isYrelayError(err) ? err : new YrelayError(ErrorCode.BAD_MESSAGE, `malformed message: ${(err as Error).message}`)
      if (!isYrelayError(err) && error.code !== ErrorCode.BAD_MESSAGE) this.logger.error({ conn: this.id, doc: this.room.name, err }, 'refused message')
      this.refuse(error)
      return false
    }
  }

  /**
   * Rate and plan limits. Over a plan limit, the update is refused and the connection stays
   * open (the client keeps its changes; they sync once the limit allows); over the rate, the
   * connection closes with 4529 so the client backs off. Throws for the rate refusal.
   */
  private admit(update: Uint8Array): boolean {
    if (!this.gate) return true
    try {
      this.gate.admit(this.room, update.byteLength)
      return true
    } catch (err) {
      if (!isYrelayError(err) || err.code === ErrorCode.RATE_LIMITED) throw err
      this.logger.info({ conn: this.id, doc: this.room.name, code: err.code, details: err.details }, 'update refused')
      this.metrics.refused({ code: err.code, via: 'websocket', doc: this.room.name, message: err.message, quotaKind: err instanceof QuotaError ? err.kind : undefined })
      this.refuseUpdate(err.code, err.message)
      return false
    }
  }

  /** A change that is not allowed: applied to nobody; the connection stays open for reading. */
  private refuseUpdate(code: ErrorCode, message: string): void {
    this.send(encodePermissionDenied(message))
    if (this.ext) this.send(encodeErrorMessage(code, message))
  }

  refuse(error: YrelayError): void {
    this.queue = null
    refuseSocket(this.ws, this.ext, error, this.logger.child({ conn: this.id, doc: this.room.name }), this.metrics, { doc: this.room.name })
  }

  send(frame: Uint8Array): void {
    if (this.ws.readyState !== this.ws.OPEN) return
    if (this.ws.bufferedAmount > this.maxBufferedBytes) {
      // A client that stops reading would otherwise grow the relay's memory without bound.
      // Its replica holds its own edits; on reconnect the handshake brings it up to date.
      this.logger.warn({ conn: this.id, doc: this.room.name, buffered: this.ws.bufferedAmount }, 'disconnecting a client that stopped reading')
      this.ws.terminate()
      return
    }
    // Frames sent to this socket in one tick (a burst read in one TCP chunk, relayed frame by
    // frame) leave in one write system call instead of one each.
    if (!this.corked) {
      this.corked = true
      this.socket.cork()
      process.nextTick(this.uncork)
    }
    this.ws.send(frame)
    this.metrics.messagesOut.inc()
    this.metrics.bytesOut.inc(frame.byteLength)
  }

  private readonly uncork = (): void => {
    this.corked = false
    this.socket.uncork()
  }

  close(code: number, reason: string): void {
    this.queue = null
    this.ws.close(code, closeReason(reason))
  }

  private onClose(): void {
    clearInterval(this.pinger)
    clearTimeout(this.expiry)
    this.queue = null
    this.room.leave(this)
  }
}

/** Close reasons are limited to 123 bytes by the WebSocket protocol. */
function closeReason(message: string): string {
  return Buffer.from(message).subarray(0, 123).toString()
}

/**
 * Every refusal, before or after a connection joined a room: logged with its code, told to an
 * opted-in client (error extension), then the close code that `shared/errors.ts` maps it to.
 */
export function refuseSocket(
  ws: WebSocket,
  ext: boolean,
  error: YrelayError,
  logger: Logger,
  metrics: Metrics,
  context: { doc?: string; auth?: boolean; quotaKind?: string },
): void {
  const closeCode = closeCodeFor(error.code)
  logger.info({ code: error.code, closeCode, reason: error.message }, 'connection refused')
  const quotaKind = context.quotaKind ?? (error instanceof QuotaError ? error.kind : undefined)
  metrics.refused({ code: error.code, via: 'websocket', doc: context.doc, message: error.message, auth: context.auth, quotaKind })
  if (ext && ws.readyState === ws.OPEN) ws.send(encodeErrorMessage(error.code, error.message))
  ws.close(closeCode, closeReason(error.message))
}
