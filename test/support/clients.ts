/** Unmodified y-websocket clients (WebsocketProvider over `ws`) and waiting helpers. */
import { WebSocket } from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'

// Every WebsocketProvider registers a process 'exit' listener in Node.
process.setMaxListeners(200)

export interface TestClient {
  doc: Y.Doc
  provider: WebsocketProvider
  text: Y.Text
  destroy(): void
}

export function connectClient(url: string, room: string, options: { doc?: Y.Doc; params?: Record<string, string> } = {}): TestClient {
  const doc = options.doc ?? new Y.Doc()
  const provider = new WebsocketProvider(url, room, doc, {
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    params: options.params ?? {},
    disableBc: true,
    maxBackoffTime: 300,
  })
  return {
    doc,
    provider,
    text: doc.getText('t'),
    destroy: () => {
      provider.destroy()
    },
  }
}

export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

export async function synced(client: TestClient): Promise<void> {
  await waitFor(() => client.provider.synced, 'provider synced')
}

/** Content equality the strict way: both states applied to fresh docs give the same JSON. */
export function contentOf(doc: Y.Doc): unknown {
  const fresh = new Y.Doc()
  Y.applyUpdate(fresh, Y.encodeStateAsUpdate(doc))
  return fresh.getText('t').toString()
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}
