/** The SDK for Node 20: the same API, with `ws` as the WebSocket and node:http for blob uploads. */
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { WebSocket } from 'ws'
import type { PutFunction } from './blobs.js'
import { createClient as createBrowserClient, type ClientOptions, type SyncClient } from './client.js'
import type { WebSocketClass } from './space.js'

export * from './index.js'

/** Bytes handed to the socket per write: progress moves in steps of this size. */
const CHUNK_BYTES = 64 * 1024

/** PUTs in chunks and reports each one once the socket has taken it (fetch reports no upload progress). */
export const nodePut: PutFunction = (url, headers, body, onProgress) =>
  new Promise((resolve) => {
    const target = new URL(url)
    const request = target.protocol === 'https:' ? httpsRequest : httpRequest
    const req = request(target, { method: 'PUT', headers: { ...headers, 'content-length': String(body.byteLength) } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
      res.on('error', () => resolve({ status: 0, body: text }))
    })
    req.on('error', () => resolve({ status: 0, body: '' }))
    let sent = 0
    const writeMore = () => {
      while (sent < body.byteLength) {
        const chunk = body.subarray(sent, sent + CHUNK_BYTES)
        sent += chunk.byteLength
        const done = sent
        if (!req.write(chunk, () => onProgress(done))) {
          req.once('drain', writeMore)
          return
        }
      }
      req.end()
    }
    writeMore()
  })

export function createClient(options: ClientOptions): SyncClient {
  return createBrowserClient({ WebSocket: WebSocket as unknown as WebSocketClass, put: nodePut, ...options })
}
