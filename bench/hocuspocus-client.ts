/**
 * A Hocuspocus client: HocuspocusProvider on its own HocuspocusProviderWebsocket (one socket
 * per client, as with y-websocket). Awareness is off, as in the y-websocket client, and the
 * provider applies every received update to its Y.Doc, which costs the load generator more
 * CPU than the y-websocket client does.
 */
import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider'
import { WebSocket } from 'ws'
import { BenchClient } from './bench-client.js'

/** No reconnects during a run: a dropped connection must show up as a failure. */
const SOCKET_OPTIONS = { messageReconnectTimeout: 10 * 60_000, maxAttempts: 1 }

export class HocuspocusClient extends BenchClient {
  readonly synced: Promise<void>
  private readonly socket: HocuspocusProviderWebsocket
  private readonly provider: HocuspocusProvider

  constructor(url: string, room: string) {
    super()
    this.socket = new HocuspocusProviderWebsocket({ url, WebSocketPolyfill: WebSocket, ...SOCKET_OPTIONS })
    this.provider = new HocuspocusProvider({ websocketProvider: this.socket, name: room, document: this.doc, awareness: null })
    this.synced = new Promise<void>((resolve, reject) => {
      this.provider.on('synced', () => resolve())
      this.provider.on('close', ({ event }: { event: { code: number } }) => reject(new Error(`closed with ${event.code} before sync`)))
    })
    // Received updates are applied with the provider as transaction origin.
    this.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin === this.provider) this.remoteUpdate(update)
    })
    this.provider.attach()
  }

  syncedText(field: string): string {
    return this.doc.getText(field).toString()
  }

  async close(): Promise<void> {
    this.provider.destroy()
    this.socket.destroy()
  }
}
