/**
 * A y-websocket protocol client on a raw `ws` socket, kept light: it answers the handshake
 * like the y-websocket provider does (step 1 on open, step 2 in reply to the server's step 1)
 * but does not apply received updates, so the load generator spends little CPU per message.
 */
import * as decoding from 'lib0/decoding'
import * as encoding from 'lib0/encoding'
import { WebSocket } from 'ws'
import * as Y from 'yjs'
import { BenchClient } from './bench-client.js'

const MESSAGE_SYNC = 0
const SYNC_STEP1 = 0
const SYNC_STEP2 = 1
const SYNC_UPDATE = 2
const CLOSE_TIMEOUT_MS = 5000

export class YWebsocketClient extends BenchClient {
  readonly synced: Promise<void>
  private readonly ws: WebSocket
  private resolveSynced: () => void = () => {}
  /** The server's sync step 2 payload, kept only when asked for (it can be megabytes). */
  private syncedState: Uint8Array | null = null

  constructor(
    url: string,
    private readonly keepSyncedState: boolean,
  ) {
    super()
    this.ws = new WebSocket(url, { perMessageDeflate: false })
    this.synced = new Promise<void>((resolve, reject) => {
      this.resolveSynced = resolve
      this.ws.once('close', (code, reason) => reject(new Error(`closed with ${code} ${reason.toString()} before sync`)))
    })
    this.ws.on('error', () => {}) // surfaces as 'close', which rejects `synced`
    this.ws.on('open', () => this.sendSync(SYNC_STEP1, Y.encodeStateVector(this.doc)))
    this.ws.on('message', (data: Buffer) => this.onFrame(data))
    this.doc.on('update', (update: Uint8Array) => this.sendSync(SYNC_UPDATE, update))
  }

  private sendSync(syncType: number, payload: Uint8Array): void {
    const enc = encoding.createEncoder()
    encoding.writeVarUint(enc, MESSAGE_SYNC)
    encoding.writeVarUint(enc, syncType)
    encoding.writeVarUint8Array(enc, payload)
    this.ws.send(encoding.toUint8Array(enc))
  }

  private onFrame(frame: Uint8Array): void {
    const dec = decoding.createDecoder(frame)
    if (decoding.readVarUint(dec) !== MESSAGE_SYNC) return // awareness and extensions
    const syncType = decoding.readVarUint(dec)
    const payload = decoding.readVarUint8Array(dec)
    if (syncType === SYNC_STEP1) {
      this.sendSync(SYNC_STEP2, Y.encodeStateAsUpdate(this.doc, payload))
    } else if (syncType === SYNC_STEP2) {
      if (this.keepSyncedState) this.syncedState = payload
      this.resolveSynced()
    } else if (syncType === SYNC_UPDATE) {
      this.remoteUpdate(payload)
    }
  }

  syncedText(field: string): string {
    if (!this.syncedState) throw new Error('sync state not kept: connect with keepSyncedState')
    const doc = new Y.Doc()
    Y.applyUpdate(doc, this.syncedState)
    return doc.getText(field).toString()
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return
    const closed = new Promise<void>((resolve) => this.ws.once('close', () => resolve()))
    this.ws.close()
    const timer = setTimeout(() => this.ws.terminate(), CLOSE_TIMEOUT_MS)
    await closed
    clearTimeout(timer)
  }
}
