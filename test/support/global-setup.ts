/**
 * Starts one radosgw and one redis-server for the whole run; tests get their addresses through
 * inject('s3') and inject('redis').
 */
import type { TestProject } from 'vitest/node'
import { redisServer, type RedisServer } from './redis-server.js'
import { startRadosgw, type S3Server } from './s3-server.js'

let server: S3Server | undefined
let redis: RedisServer | undefined

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  ;[server, redis] = await Promise.all([startRadosgw(), redisServer()])
  project.provide('redis', { url: redis.url })
  project.provide('s3', {
    endpoint: server.endpoint,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
    region: server.region,
  })
  return async () => {
    await Promise.all([server?.stop(), redis?.stop()])
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    s3: { endpoint: string; accessKeyId: string; secretAccessKey: string; region: string }
    redis: { url: string }
  }
}
