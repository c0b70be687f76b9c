/** The yrelay client SDK (browsers; Node uses ./node.ts, which adds a WebSocket). */
export { createClient, SyncClient, type ClientOptions } from './client.js'
export { Space, type ConnectionState, type SpaceError, type SpaceStatus, type Tombstone } from './space.js'
export { MemoryReplicas, indexeddbReplicas, type LocalReplica, type ReplicaFactory } from './replica.js'
export { RelayHttpError } from './http.js'
export type { TokenOption } from './token-source.js'
export type { BackoffOptions } from './backoff.js'
export { ErrorCode, YrelayError } from '../shared/errors.js'
