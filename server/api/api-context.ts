/** What every HTTP API handler works with, and how a request becomes a principal. */
import type { IncomingMessage } from 'node:http'
import { tokenOf, type AccessPolicy, type Principal } from '../auth/access.js'
import type { BlobUrlSigner } from '../blobs/blob-urls.js'
import type { LocalUrlSigner } from '../blobs/local-url-signer.js'
import type { Cluster } from '../cluster/link.js'
import type { Config } from '../config.js'
import type { DocStore } from '../docs/doc-store.js'
import type { Tombstones } from '../docs/tombstones.js'
import type { ChangeFeed } from '../events/change-feed.js'
import type { Logger } from '../logger.js'
import type { LimitsConfig } from '../quota/limits.js'
import type { LimitsBook } from '../quota/limits-book.js'
import type { UsageTracker } from '../quota/usage.js'
import type { Rooms } from '../relay/rooms.js'
import type { ObjectStore } from '../store/object-store.js'

export type ApiConfig = LimitsConfig & Pick<Config, 'MAX_MESSAGE_BYTES' | 'BLOB_URL_TTL_SECONDS'>

export interface ApiContext {
  config: ApiConfig
  access: AccessPolicy
  store: ObjectStore
  docs: DocStore
  rooms: Rooms
  tombstones: Tombstones
  usage: UsageTracker
  /** Every limit check goes through it, so the dashboard shows what was enforced. */
  limits: LimitsBook
  feed: ChangeFeed
  signer: BlobUrlSigner
  /** Other relays serving the same documents, told about deletes; absent for a lone relay. */
  cluster?: Cluster
  /** Present with the directory store: the relay serves its own signed blob URLs. */
  localSigner?: LocalUrlSigner
  logger: Logger
}

/** Verifies the request's token (`Authorization: Bearer` or `?token=`), as the WebSocket does. */
export function principalOf(req: IncomingMessage, url: URL, ctx: ApiContext): Promise<Principal> {
  return ctx.access.authenticate(tokenOf(url.searchParams, req.headers.authorization))
}
