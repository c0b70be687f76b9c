/** Starts one radosgw for the whole run; tests get its address through inject('s3'). */
import type { TestProject } from 'vitest/node'
import { startRadosgw, type S3Server } from './s3-server.js'

let server: S3Server | undefined

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  server = await startRadosgw()
  project.provide('s3', {
    endpoint: server.endpoint,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
    region: server.region,
  })
  return async () => {
    await server?.stop()
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    s3: { endpoint: string; accessKeyId: string; secretAccessKey: string; region: string }
  }
}
