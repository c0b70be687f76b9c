/** The SDK for Node 20, which has no global WebSocket: the same API with `ws` as the socket. */
import { WebSocket } from 'ws'
import { createClient as createBrowserClient, type ClientOptions, type SyncClient } from './client.js'
import type { WebSocketClass } from './space.js'

export * from './index.js'

export function createClient(options: ClientOptions): SyncClient {
  return createBrowserClient({ WebSocket: WebSocket as unknown as WebSocketClass, ...options })
}
