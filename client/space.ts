/**
 * One open document: a Y.Doc and its awareness, loaded from the local replica first, then kept
 * in sync with a relay through y-websocket's provider. The SDK, not the provider, decides when
 * and where to reconnect (tokens, close codes, backoff, several relays), and turns the relay's
 * extension messages into a status an app can show.
 */
import * as decoding from 'lib0/decoding'
import { ObservableV2 } from 'lib0/observable'
import { Awareness } from 'y-protocols/awareness'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { ErrorCode, YrelayError, closeActionFor, errorCodeForClose } from '../shared/errors.js'
import { MessageType, PROTOCOL_VERSION, SyncType, readExtensionBody, syncTypeOf, type ExtensionMessage } from '../shared/protocol.js'
import { backoffDelay, type BackoffOptions } from './backoff.js'
import type { LocalReplica } from './replica.js'
import type { RelayEndpoint, RelayUrls } from './relay-urls.js'
import { SaveTracker } from './save-tracker.js'
import type { TokenSource } from './token-source.js'

export type ConnectionState = 'offline' | 'connecting' | 'online'

export interface SpaceError {
  code: string
  message: string
}

/** When and by whom a document was deleted (null when the relay did not say). */
export interface Tombstone {
  deletedAt: string | null
  deletedBy: string | null
}

export interface SpaceStatus {
  connection: ConnectionState
  /** Caught up with the relay on the current connection. */
  synced: boolean
  /** Local changes not yet durable on the relay's storage (update messages, see SaveTracker). */
  pending: number
  /** `pending === 0`: every local change is durable. */
  saved: boolean
  /** The last refusal or failure; cleared when a later connection syncs. */
  error: SpaceError | null
  /** Set once the relay said the document was deleted; the space then stays offline. */
  deleted: Tombstone | null
  /** The relay's WebSocket URL in use, or null before the first attempt. */
  relay: string | null
}

export type SpaceEvents = {
  status: (status: SpaceStatus) => void
  error: (error: SpaceError) => void
  deleted: (tombstone: Tombstone) => void
}

export type WebSocketClass = typeof globalThis.WebSocket

/** What a space needs from its client. */
export interface SpaceContext {
  relays: RelayUrls
  tokens: TokenSource
  WebSocket: WebSocketClass
  backoff: BackoffOptions
  createReplica(name: string, doc: Y.Doc): LocalReplica
  /** Reads a deleted document's tombstone from the HTTP API. */
  tombstone(name: string): Promise<Tombstone>
  /** Share updates with other tabs of this browser (BroadcastChannel). */
  broadcast: boolean
  onClosed(space: Space): void
}

/** Consecutive 4401s, each after a freshly fetched token, before the space stops asking. */
const MAX_UNAUTHORIZED_IN_ROW = 3

export class Space extends ObservableV2<SpaceEvents> {
  readonly doc: Y.Doc
  readonly awareness: Awareness
  /** The local replica is applied: render now, even offline. */
  readonly whenLoaded: Promise<void>
  /** Caught up with the relay once. Rejects if the space stops first (refused, deleted, closed). */
  readonly whenSynced: Promise<void>

  private readonly provider: WebsocketProvider
  private readonly replica: LocalReplica
  private readonly saves = new SaveTracker()
  private connection: ConnectionState = 'offline'
  private error: SpaceError | null = null
  private deleted: Tombstone | null = null
  private endpoint: RelayEndpoint | null = null
  private token: string | null = null
  private needFreshToken = false
  private opened = false
  private extError: SpaceError | null = null
  private attempt = 0
  private unauthorizedInRow = 0
  private retryTimer: ReturnType<typeof setTimeout> | undefined
  /** Set once the space will not connect again: why, as the error its promises reject with. */
  private stopped: YrelayError | null = null
  private closing: Promise<void> | null = null
  private lastStatus = ''
  private resolveSynced!: () => void
  private rejectSynced!: (err: Error) => void
  private saveWaiters: { resolve: () => void; reject: (err: Error) => void }[] = []
  private readonly removeNetworkListeners: () => void

  constructor(
    readonly name: string,
    private readonly ctx: SpaceContext,
  ) {
    super()
    this.doc = new Y.Doc()
    this.awareness = new Awareness(this.doc)
    this.whenSynced = new Promise<void>((resolve, reject) => {
      this.resolveSynced = resolve
      this.rejectSynced = reject
    })
    // Apps that never await it must not see an unhandled rejection when the space stops.
    this.whenSynced.catch(() => {})

    this.provider = new WebsocketProvider(ctx.relays.current.ws, name, this.doc, {
      connect: false,
      awareness: this.awareness,
      WebSocketPolyfill: countingWebSocket(ctx.WebSocket, (data) => this.onFrameSent(data)),
      disableBc: !ctx.broadcast,
      // The space reconnects itself; the provider's own retry timer fires at once and finds
      // shouldConnect false.
      shouldReconnect: () => false,
      maxBackoffTime: 0,
    })
    this.provider.messageHandlers[MessageType.EXT] = (_encoder, decoder) => this.onExtension(readExtensionBody(decoder))
    // y-websocket would log "permission denied" with the URL, token included; the error
    // extension that follows it reports the refusal instead.
    this.provider.messageHandlers[MessageType.AUTH] = (_encoder, decoder) => {
      decoding.readVarUint(decoder)
      decoding.readVarString(decoder)
    }
    this.provider.on('status', ({ status }) => {
      if (status === 'connected') this.onOpen()
    })
    this.provider.on('sync', (synced) => this.onSync(synced))
    this.provider.on('connection-close', (event) => this.onConnectionClose(event))
    this.doc.on('update', (_update: Uint8Array, origin: unknown) => this.onLocalUpdate(origin))

    this.replica = ctx.createReplica(name, this.doc)
    this.whenLoaded = this.replica.whenLoaded
    this.removeNetworkListeners = listenToNetwork(
      () => this.onBrowserOffline(),
      () => this.onBrowserOnline(),
    )
    this.whenLoaded.then(
      () => void this.connect(),
      (err: unknown) => this.stop(new YrelayError(ErrorCode.INTERNAL, `the local replica could not be loaded: ${(err as Error).message}`)),
    )
  }

  get status(): SpaceStatus {
    const pending = this.saves.pending
    return {
      connection: this.connection,
      synced: this.provider.synced,
      pending,
      saved: pending === 0,
      error: this.error,
      deleted: this.deleted,
      relay: this.endpoint?.ws ?? null,
    }
  }

  /** Resolves when every local change so far is durable on the relay's storage. */
  whenSaved(): Promise<void> {
    if (this.stopped) return Promise.reject(this.stopped)
    if (this.saves.pending === 0) return Promise.resolve()
    return new Promise((resolve, reject) => this.saveWaiters.push({ resolve, reject }))
  }

  /** Disconnects and stops storing; the local replica keeps what it has for the next open. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stop(new YrelayError(ErrorCode.BAD_REQUEST, `${this.name} was closed`), false)
      this.provider.destroy()
      this.awareness.destroy()
      this.removeNetworkListeners()
      await this.replica.destroy()
      this.doc.destroy()
      this.ctx.onClosed(this)
      super.destroy()
    })()
    return this.closing
  }

  private async connect(): Promise<void> {
    clearTimeout(this.retryTimer)
    if (this.stopped || this.provider.ws || !isNetworkUp()) return
    this.setConnection('connecting')
    let token: string | null
    try {
      token = this.needFreshToken ? await this.ctx.tokens.refresh(this.token) : await this.ctx.tokens.get()
    } catch (err) {
      this.setError(asSpaceError(err))
      this.retryLater()
      return
    }
    if (this.stopped || this.provider.ws) return
    this.needFreshToken = false
    this.token = token
    this.endpoint = this.ctx.relays.current
    this.provider.serverUrl = this.endpoint.ws
    const params: Record<string, string> = { ext: '1', v: String(PROTOCOL_VERSION) }
    if (token) params.token = token
    this.provider.params = params
    this.opened = false
    this.extError = null
    this.provider.connect()
  }

  private onOpen(): void {
    this.opened = true
    if (this.endpoint) this.ctx.relays.reached(this.endpoint)
    this.setConnection('online')
  }

  private onSync(synced: boolean): void {
    if (synced) {
      this.attempt = 0
      this.unauthorizedInRow = 0
      // Errors of earlier connections are over; one this connection reported stays.
      if (!this.extError) this.error = null
      this.resolveSynced()
    }
    this.emitStatus()
  }

  private onConnectionClose(event: CloseEvent | null): void {
    this.provider.shouldConnect = false
    this.saves.connectionClosed()
    const opened = this.opened
    this.opened = false
    if (this.stopped) return
    this.setConnection('offline')
    // null: the provider closed it (no message for 30 s) or the browser went offline.
    const code = event?.code ?? 1006
    const reason = this.extError ?? { code: errorCodeForClose(code), message: event?.reason || `connection closed (${code})` }
    switch (closeActionFor(code)) {
      case 'deleted':
        void this.onDeleted(reason)
        return
      case 'stop':
        this.stop(new YrelayError(reason.code as ErrorCode, reason.message))
        return
      case 'refresh-token':
        this.setError(reason)
        if (++this.unauthorizedInRow > MAX_UNAUTHORIZED_IN_ROW) {
          this.stop(new YrelayError(ErrorCode.UNAUTHORIZED, `the relay refused ${MAX_UNAUTHORIZED_IN_ROW} fresh tokens in a row: ${reason.message}`))
          return
        }
        this.needFreshToken = true
        this.retryLater(this.unauthorizedInRow === 1 ? 0 : undefined)
        return
      case 'retry':
        // The browser reported the network gone: wait for it to come back.
        if (!isNetworkUp()) return
        if (!opened && this.endpoint) {
          // Unreachable: try the next relay at once, back off once every relay failed.
          const allFailed = this.ctx.relays.moveOn(this.endpoint)
          this.setError({ code: ErrorCode.RELAY_UNREACHABLE, message: `could not connect to ${this.endpoint.ws}` })
          this.retryLater(allFailed ? undefined : 0)
          return
        }
        if (code >= 4500 && code < 4600) {
          this.setError(reason)
          // A draining or failing relay asks clients to go elsewhere; a rate limit does not.
          if (reason.code !== ErrorCode.RATE_LIMITED && this.endpoint) this.ctx.relays.moveOn(this.endpoint)
        }
        this.retryLater()
    }
  }

  private retryLater(delayMs?: number): void {
    clearTimeout(this.retryTimer)
    if (this.stopped) return
    const delay = delayMs ?? backoffDelay(this.attempt++, this.ctx.backoff)
    this.setConnection('offline')
    this.retryTimer = setTimeout(() => void this.connect(), delay)
  }

  private onExtension(msg: ExtensionMessage): void {
    if (msg.kind === 'saved') {
      this.saves.saved(msg.count)
      this.emitStatus()
      return
    }
    const error = { code: msg.code, message: msg.message }
    this.extError = error
    this.setError(error)
    // Refused writes (a viewer's change, a full quota) leave the connection open; the changes
    // stay local and will not be saved by waiting.
    if (msg.code === ErrorCode.FORBIDDEN || msg.code === ErrorCode.QUOTA_EXCEEDED) {
      this.rejectSaveWaiters(new YrelayError(msg.code, msg.message))
    }
  }

  private async onDeleted(reason: SpaceError): Promise<void> {
    this.stop(new YrelayError(ErrorCode.DOC_DELETED, reason.message), false)
    let tombstone: Tombstone = { deletedAt: null, deletedBy: null }
    try {
      tombstone = await this.ctx.tombstone(this.name)
    } catch {
      // The close code said enough; when and by whom stays unknown.
    }
    // Never upload it again: the replica goes, and the space never reconnects.
    await this.replica.clear()
    this.deleted = tombstone
    this.emit('deleted', [tombstone])
    this.setError(reason)
  }

  /** The space will not connect again; the document and its local replica stay. */
  private stop(error: YrelayError, report = true): void {
    if (this.stopped) return
    this.stopped = error
    clearTimeout(this.retryTimer)
    this.provider.shouldConnect = false
    if (this.provider.ws) this.provider.disconnect()
    this.rejectSynced(error)
    this.rejectSaveWaiters(error)
    this.setConnection('offline')
    if (report) this.setError({ code: error.code, message: error.message })
  }

  private onFrameSent(data: unknown): void {
    if (!(data instanceof Uint8Array)) return
    const syncType = syncTypeOf(data)
    if (syncType !== SyncType.STEP2 && syncType !== SyncType.UPDATE) return
    this.saves.sentUpdate(syncType === SyncType.STEP2)
    this.emitStatus()
  }

  private onLocalUpdate(origin: unknown): void {
    if (origin === this.provider) return
    const ws = this.provider.ws
    // The provider sends a change only on an open, connected socket (and onFrameSent counts it);
    // anything else waits for the next handshake.
    if (!(this.provider.wsconnected && ws && ws.readyState === ws.OPEN)) {
      this.saves.changedOffline()
      this.emitStatus()
    }
  }

  private onBrowserOffline(): void {
    // A socket can take long to notice a dead network; the browser knows now.
    if (this.provider.ws) this.provider.disconnect()
    clearTimeout(this.retryTimer)
    if (!this.stopped) this.setConnection('offline')
  }

  private onBrowserOnline(): void {
    this.attempt = 0
    void this.connect()
  }

  private setConnection(state: ConnectionState): void {
    this.connection = state
    this.emitStatus()
  }

  private setError(error: SpaceError): void {
    this.error = error
    this.emit('error', [error])
    this.emitStatus()
  }

  private rejectSaveWaiters(error: Error): void {
    for (const waiter of this.saveWaiters.splice(0)) waiter.reject(error)
  }

  private emitStatus(): void {
    const status = this.status
    if (status.saved) for (const waiter of this.saveWaiters.splice(0)) waiter.resolve()
    const key = JSON.stringify(status)
    if (key === this.lastStatus) return
    this.lastStatus = key
    this.emit('status', [status])
  }
}

/** A WebSocket class that reports every frame sent, so update messages can be counted as the relay counts them. */
function countingWebSocket(Base: WebSocketClass, onSend: (data: unknown) => void): WebSocketClass {
  return class CountingWebSocket extends Base {
    override send(data: Parameters<WebSocket['send']>[0]): void {
      onSend(data)
      super.send(data)
    }
  }
}

function asSpaceError(err: unknown): SpaceError {
  if (err instanceof YrelayError) return { code: err.code, message: err.message }
  return { code: ErrorCode.INTERNAL, message: (err as Error)?.message ?? String(err) }
}

function isNetworkUp(): boolean {
  return typeof navigator === 'undefined' || navigator.onLine !== false
}

/** Browsers tell when the network goes and comes back; Node has no such events. */
function listenToNetwork(onOffline: () => void, onOnline: () => void): () => void {
  const target = globalThis as unknown as Partial<Pick<Window, 'addEventListener' | 'removeEventListener'>>
  if (typeof target.addEventListener !== 'function' || typeof target.removeEventListener !== 'function') return () => {}
  target.addEventListener('offline', onOffline)
  target.addEventListener('online', onOnline)
  return () => {
    target.removeEventListener!('offline', onOffline)
    target.removeEventListener!('online', onOnline)
  }
}
