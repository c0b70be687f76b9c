/** A bare protocol client for exact assertions: sends chosen update frames, records what the relay answers. */
import { WebSocket } from 'ws'
import * as Y from 'yjs'
import { encodeSyncStep1, encodeSyncUpdate, parseExtensionMessage, parseMessage, type ExtensionMessage } from '../../shared/protocol.js'
import { waitFor } from './clients.js'

export class RawClient {
  readonly ws: WebSocket
  /** What the relay sent this connection: every document update applied here. */
  readonly doc = new Y.Doc()
  readonly ext: ExtensionMessage[] = []
  closeCode: number | null = null
  private synced = false

  constructor(url: string) {
    this.ws = new WebSocket(url.includes('?') ? `${url}&ext=1` : `${url}?ext=1`)
    this.ws.binaryType = 'nodebuffer'
    this.ws.on('error', () => {})
    this.ws.on('open', () => this.ws.send(encodeSyncStep1(new Uint8Array([0]))))
    this.ws.on('close', (code) => (this.closeCode = code))
    this.ws.on('message', (data: Buffer) => {
      const frame = new Uint8Array(data)
      const ext = parseExtensionMessage(frame)
      if (ext) {
        this.ext.push(ext)
        return
      }
      try {
        const msg = parseMessage(frame)
        if (msg.type === 'sync-update') {
          Y.applyUpdate(this.doc, msg.update)
          if (msg.syncType === 1) this.synced = true
        }
      } catch {
        // auth (permission denied) and other frames are not needed here
      }
    })
  }

  async ready(): Promise<this> {
    await waitFor(() => this.synced || this.closeCode !== null, 'sync step 2 from the relay')
    return this
  }

  sendUpdate(update: Uint8Array): void {
    this.ws.send(encodeSyncUpdate(update))
  }

  errors(): { code: string; message: string }[] {
    return this.ext.flatMap((e) => (e.kind === 'error' ? [{ code: e.code, message: e.message }] : []))
  }

  saved(): number {
    return Math.max(0, ...this.ext.flatMap((e) => (e.kind === 'saved' ? [e.count] : [])))
  }

  close(): void {
    this.ws.close()
  }
}

/** Successive updates of one writer: each inserts `text` at the end of Y.Text 't'. */
export function updatesOf(texts: string[]): Uint8Array[] {
  const doc = new Y.Doc()
  const out: Uint8Array[] = []
  doc.on('update', (u: Uint8Array) => out.push(u))
  for (const t of texts) doc.getText('t').insert(doc.getText('t').length, t)
  return out
}
