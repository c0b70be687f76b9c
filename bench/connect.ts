/** Opening clients on any server under test, in batches so the accept queue never overflows. */
import type { BenchClient } from './bench-client.js'
import { HocuspocusClient } from './hocuspocus-client.js'
import type { RunningServer } from './servers.js'
import { withTimeout } from './timing.js'
import { YWebsocketClient } from './ywebsocket-client.js'

const SYNC_TIMEOUT_MS = 120_000
const CONNECT_BATCH = 50

export interface ConnectOptions {
  /** Keep the state received at sync so `syncedText` can check it (y-websocket clients). */
  keepSyncedState?: boolean
}

/** Clients not closed yet, so a scenario that fails half-way leaves nothing open behind it. */
const open = new Set<BenchClient>()

/** Starts connecting; await `client.synced` for the handshake. */
export function connect(server: RunningServer, room: string, options: ConnectOptions = {}): BenchClient {
  const client =
    server.spec.protocol === 'hocuspocus'
      ? new HocuspocusClient(server.url(room), room)
      : new YWebsocketClient(server.url(room), options.keepSyncedState ?? false)
  open.add(client)
  return client
}

export async function synced(client: BenchClient): Promise<void> {
  await withTimeout(client.synced, SYNC_TIMEOUT_MS, 'sync')
}

/** One synced client per entry of `rooms` (repeat a room name for several clients in it). */
export async function openClients(server: RunningServer, rooms: string[]): Promise<BenchClient[]> {
  const clients: BenchClient[] = []
  for (let i = 0; i < rooms.length; i += CONNECT_BATCH) {
    const batch = rooms.slice(i, i + CONNECT_BATCH).map((room) => connect(server, room))
    clients.push(...batch)
    try {
      await Promise.all(batch.map(synced))
    } catch (err) {
      await closeClients(clients)
      throw err
    }
  }
  return clients
}

export async function closeClients(clients: BenchClient[]): Promise<void> {
  for (const c of clients) open.delete(c)
  await Promise.all(clients.map((c) => c.close()))
}

/** Closes every client a scenario left open (it failed before closing them). */
export async function closeLeftovers(): Promise<void> {
  await closeClients([...open])
}
