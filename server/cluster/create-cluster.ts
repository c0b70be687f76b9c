/** The cluster mode the configuration selects, or none for a lone relay. */
import type { Config } from '../config.js'
import type { DocStore } from '../docs/doc-store.js'
import type { Logger } from '../logger.js'
import type { Metrics } from '../metrics.js'
import type { Cluster } from './link.js'
import { S3Poller } from './s3-poller.js'

export type ClusterConfig = Pick<Config, 'CLUSTER' | 'REDIS_URL' | 'REDIS_PREFIX' | 'POLL_MS' | 'FLUSH_MS'>

/**
 * Another relay announces its updates durable after its next flush (at most 1.2 × FLUSH_MS
 * plus a storage round trip); one silent for three flush intervals and 3 s more has crashed or
 * lost its announcement.
 */
export function adoptAfterMs(flushMs: number): number {
  return 3 * flushMs + 3000
}

/** Loads the Redis client only in Redis mode: ioredis alone adds about 20 MB to a relay's memory. */
export async function createCluster(config: ClusterConfig, instanceId: string, logger: Logger): Promise<((docs: DocStore, metrics: Metrics) => Cluster) | undefined> {
  switch (config.CLUSTER) {
    case 'off':
      return undefined
    case 'redis': {
      const { RedisBus } = await import('./redis-bus.js')
      return (docs, metrics) =>
        new RedisBus({ url: config.REDIS_URL!, prefix: config.REDIS_PREFIX, instanceId, docs, adoptMs: adoptAfterMs(config.FLUSH_MS), logger, metrics })
    }
    case 'poll':
      return (docs) => new S3Poller({ docs, pollMs: config.POLL_MS, instanceId, logger })
  }
}
