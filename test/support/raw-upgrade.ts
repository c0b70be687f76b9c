/**
 * Opens a WebSocket with the request path sent byte for byte. WHATWG URL parsing (which `ws`
 * and browsers apply) would normalise "..", "%2e%2e" and "\" before the relay sees them;
 * hostile clients need no such courtesy, so the tests must not get it either.
 */
import { randomBytes } from 'node:crypto'
import { connect } from 'node:net'

export interface RawClose {
  status: number
  closeCode?: number
  reason?: string
}

export function rawUpgradeAndClose(port: number, path: string, timeoutMs = 5000): Promise<RawClose> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let buf = Buffer.alloc(0)
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no close frame within ${timeoutMs} ms for ${JSON.stringify(path.slice(0, 80))}`))
    }, timeoutMs)
    socket.on('connect', () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      )
    })
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk])
      const end = buf.indexOf('\r\n\r\n')
      if (end < 0) return
      const status = Number(buf.subarray(0, end).toString().split(' ')[1])
      const frame = buf.subarray(end + 4)
      if (status !== 101) {
        clearTimeout(timer)
        socket.destroy()
        resolve({ status })
        return
      }
      // Skip data frames (an opted-in client gets an error message first) up to the close frame.
      let at = 0
      while (frame.length >= at + 2) {
        let len = frame[at + 1]! & 0x7f
        let header = 2
        if (len === 126) {
          if (frame.length < at + 4) return
          len = frame.readUInt16BE(at + 2)
          header = 4
        }
        if (frame.length < at + header + len) return
        if ((frame[at]! & 0x0f) === 0x8) {
          clearTimeout(timer)
          socket.destroy()
          const body = frame.subarray(at + header, at + header + len)
          resolve({ status, closeCode: body.readUInt16BE(0), reason: body.subarray(2).toString() })
          return
        }
        at += header + len
      }
    })
    socket.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
  })
}
