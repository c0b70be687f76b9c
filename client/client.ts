/** createClient: the SDK's entry point. Opens documents (spaces) against one or several relays. */
import { checkDocName } from '../shared/doc-name.js'
import { ErrorCode, YrelayError } from '../shared/errors.js'
import { DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js'
import { Blobs, fetchPut, xhrPut, type PutFunction } from './blobs.js'
import { Events } from './events.js'
import { RelayHttp, RelayHttpError, type FetchFunction } from './http.js'
import { RelayUrls } from './relay-urls.js'
import { MemoryReplicas, indexeddbReplicas, type ReplicaFactory } from './replica.js'
import { Space, type Tombstone, type WebSocketClass } from './space.js'
import { TokenSource, type TokenOption } from './token-source.js'

export interface ClientOptions {
  /** The relay: `https://relay.example`, `ws://127.0.0.1:8787` or its `/v1/sync` URL. */
  url?: string
  /** Several relays without a load balancer: the client uses one and moves on when it is unreachable. */
  urls?: string[]
  /** A token, or a function fetching one from the app's backend (called again after a 4401). */
  token?: TokenOption
  /** Where documents are stored locally: IndexedDB in browsers, memory in Node, or your own. */
  replicas?: ReplicaFactory
  /** The WebSocket class; browsers have one, Node 20 needs `ws` (client/node.ts passes it). */
  WebSocket?: WebSocketClass
  fetch?: FetchFunction
  /** How blob bytes are PUT to presigned URLs (browsers: XMLHttpRequest for progress; Node: node:http). */
  put?: PutFunction
  backoff?: Partial<BackoffOptions>
  /** Share updates between tabs of one browser (BroadcastChannel). Default: on in browsers, off in Node. */
  broadcast?: boolean
}

export class SyncClient {
  readonly relays: RelayUrls
  readonly http: RelayHttp
  /** Upload blobs (hashed, presigned, with progress) and get download URLs. */
  readonly blobs: Blobs
  /** The change feed of the token's scopes. */
  readonly events: Events
  private readonly tokens: TokenSource
  private readonly spaces = new Map<string, Space>()
  private readonly replicas: ReplicaFactory
  private readonly WebSocket: WebSocketClass
  private readonly backoff: BackoffOptions
  private readonly broadcast: boolean
  private destroyed = false

  constructor(options: ClientOptions) {
    this.relays = new RelayUrls(options.urls ?? (options.url ? [options.url] : []))
    this.tokens = new TokenSource(options.token)
    const WebSocketClass = options.WebSocket ?? globalThis.WebSocket
    if (!WebSocketClass) throw new TypeError('no WebSocket class: in Node import createClient from the SDK\'s node entry (client/node.ts) or pass WebSocket from "ws"')
    this.WebSocket = WebSocketClass
    const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis)
    this.http = new RelayHttp(this.relays, this.tokens, fetchFn)
    this.replicas = options.replicas ?? (typeof indexedDB === 'undefined' ? new MemoryReplicas().factory : indexeddbReplicas())
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff }
    // In Node every client of a process would share one channel and see each other's changes.
    this.broadcast = options.broadcast ?? typeof document !== 'undefined'
    this.blobs = new Blobs(this.http, options.put ?? (typeof XMLHttpRequest === 'undefined' ? fetchPut : xhrPut), this.backoff)
    this.events = new Events(this.http, this.backoff)
  }

  /**
   * Opens a document: its local replica loads first (`whenLoaded`), then it syncs with the relay.
   * Opening a name that is already open returns the same space.
   */
  open(name: string): Space {
    if (this.destroyed) throw new YrelayError(ErrorCode.BAD_REQUEST, 'this client was destroyed')
    const check = checkDocName(name)
    if (!check.ok) throw new YrelayError(ErrorCode.BAD_DOC_NAME, check.reason)
    const open = this.spaces.get(name)
    if (open) return open
    const space = new Space(name, {
      relays: this.relays,
      tokens: this.tokens,
      WebSocket: this.WebSocket,
      backoff: this.backoff,
      broadcast: this.broadcast,
      createReplica: this.replicas,
      tombstone: (doc) => this.tombstone(doc),
      onClosed: (closed) => {
        if (this.spaces.get(closed.name) === closed) this.spaces.delete(closed.name)
      },
    })
    this.spaces.set(name, space)
    return space
  }

  /** Closes every open space and ends every change-feed subscription. */
  async destroy(): Promise<void> {
    this.destroyed = true
    this.events.stopAll()
    await Promise.all([...this.spaces.values()].map((space) => space.close()))
  }

  /** A deleted document's tombstone: the relay answers 404 doc_deleted with when and by whom. */
  private async tombstone(name: string): Promise<Tombstone> {
    try {
      await this.http.request(`/v1/docs/${name}`)
    } catch (err) {
      if (err instanceof RelayHttpError && err.code === ErrorCode.DOC_DELETED) {
        const { deletedAt, deletedBy } = err.details
        return { deletedAt: typeof deletedAt === 'string' ? deletedAt : null, deletedBy: typeof deletedBy === 'string' ? deletedBy : null }
      }
    }
    return { deletedAt: null, deletedBy: null }
  }
}

export function createClient(options: ClientOptions): SyncClient {
  return new SyncClient(options)
}
