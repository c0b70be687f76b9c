/**
 * A raw WebSocket that sends one frame at a time and learns whether the relay accepted it:
 * each frame is followed by a WebSocket ping. The relay handles a frame synchronously once
 * its room is loaded, so a pong means the frame was handled and the connection stayed open,
 * and a close frame instead means the frame closed it (with that code).
 */
import * as decoding from 'lib0/decoding'
import { WebSocket } from 'ws'

export type Outcome = { closed: false } | { closed: true; code: number; reason: string }

const SYNC_STEP1_GREETING = [0, 0]

export class ProbeSocket {
  private waiting: ((o: Outcome) => void) | null = null
  private closedWith: Outcome | null = null
  /** The state vector the relay greeted with (its sync step 1). */
  stateVector: Uint8Array = new Uint8Array(0)

  private constructor(private readonly ws: WebSocket) {
    ws.on('pong', () => this.settle({ closed: false }))
    ws.on('close', (code, reason) => {
      this.closedWith = { closed: true, code, reason: reason.toString() }
      this.settle(this.closedWith)
    })
    ws.on('error', () => {})
  }

  /** Opens a connection and waits for the relay's greeting (its room is loaded then). */
  static open(url: string, timeoutMs = 15_000): Promise<ProbeSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false })
      const probe = new ProbeSocket(ws)
      const timer = setTimeout(() => {
        ws.terminate()
        reject(new Error(`no greeting from ${url} within ${timeoutMs} ms`))
      }, timeoutMs)
      const onMessage = (data: Buffer) => {
        if (data[0] !== SYNC_STEP1_GREETING[0] || data[1] !== SYNC_STEP1_GREETING[1]) return
        probe.stateVector = decoding.readVarUint8Array(decoding.createDecoder(data.subarray(2)))
        clearTimeout(timer)
        ws.off('message', onMessage)
        resolve(probe)
      }
      ws.on('message', onMessage)
      ws.once('close', (code) => {
        clearTimeout(timer)
        reject(new Error(`closed with ${code} before the greeting`))
      })
      ws.once('error', (err) => {
        clearTimeout(timer)
        reject(err)
      })
    })
  }

  get open(): boolean {
    return this.closedWith === null && this.ws.readyState === WebSocket.OPEN
  }

  /** Sends one frame and reports whether the relay kept the connection open. */
  try(frame: Uint8Array | string, timeoutMs = 30_000): Promise<Outcome> {
    if (this.closedWith) return Promise.resolve(this.closedWith)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`neither pong nor close within ${timeoutMs} ms`)), timeoutMs)
      this.waiting = (o) => {
        clearTimeout(timer)
        resolve(o)
      }
      this.ws.send(frame, { binary: typeof frame !== 'string' })
      this.ws.ping()
    })
  }

  close(): void {
    this.ws.terminate()
  }

  private settle(o: Outcome): void {
    const w = this.waiting
    this.waiting = null
    w?.(o)
  }
}
