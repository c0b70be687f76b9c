/**
 * The relays a client may use and the one it uses now. Deployments without a load balancer
 * list several; the client stays on one while it answers and moves on when it does not.
 */
import { SYNC_PATH_PREFIX } from '../shared/protocol.js'

export interface RelayEndpoint {
  /** WebSocket base, for y-websocket: `ws(s)://host[:port][/prefix]/v1/sync`. */
  ws: string
  /** HTTP base: `http(s)://host[:port][/prefix]`. */
  http: string
}

const SYNC_PATH = SYNC_PATH_PREFIX.slice(0, -1)

/**
 * Accepts a relay's base URL in either scheme (`https://relay.example`, `ws://127.0.0.1:8787`)
 * or its sync URL (`ws://127.0.0.1:8787/v1/sync`), as README examples and y-websocket users write it.
 */
export function relayEndpoint(url: string): RelayEndpoint {
  const parsed = new URL(url)
  const secure = parsed.protocol === 'https:' || parsed.protocol === 'wss:'
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(parsed.protocol)) {
    throw new TypeError(`relay URL must use http(s) or ws(s), got ${JSON.stringify(url)}`)
  }
  let path = parsed.pathname.replace(/\/+$/, '')
  if (path.endsWith(SYNC_PATH)) path = path.slice(0, -SYNC_PATH.length)
  const host = parsed.host
  return {
    ws: `${secure ? 'wss' : 'ws'}://${host}${path}${SYNC_PATH}`,
    http: `${secure ? 'https' : 'http'}://${host}${path}`,
  }
}

export class RelayUrls {
  readonly endpoints: readonly RelayEndpoint[]
  private index = 0
  /** Relays that failed one after another since one last answered. */
  private failedInRow = 0

  constructor(urls: readonly string[]) {
    if (urls.length === 0) throw new TypeError('createClient needs a relay url (url or urls)')
    this.endpoints = urls.map(relayEndpoint)
  }

  get current(): RelayEndpoint {
    return this.endpoints[this.index]!
  }

  /**
   * `endpoint` could not be reached (or asked to be left): the next one becomes current.
   * Returns true once every relay failed in a row, when the caller should back off instead of
   * trying the next one at once. Several documents failing on the same relay move on only once.
   */
  moveOn(endpoint: RelayEndpoint): boolean {
    if (endpoint === this.current) {
      this.index = (this.index + 1) % this.endpoints.length
      this.failedInRow++
    }
    return this.failedInRow >= this.endpoints.length
  }

  reached(endpoint: RelayEndpoint): void {
    if (endpoint === this.current) this.failedInRow = 0
  }
}
