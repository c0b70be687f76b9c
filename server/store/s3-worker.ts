/**
 * The storage thread: owns the S3 client and answers the relay thread's store calls. The AWS
 * SDK spends about a millisecond of CPU per request (middleware, signing, parsing); here that
 * time no longer holds up relayed frames on the relay's event loop.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { S3Store, type S3StoreOptions } from './s3-store.js'
import { errorToData, perform, transferablesOf, type StoreReply, type StoreRequest } from './thread-protocol.js'

const port = parentPort
if (!port) throw new Error('s3-worker.ts runs as a worker thread (see thread-store.ts)')
const store = new S3Store(workerData as S3StoreOptions)

port.on('message', (request: StoreRequest) => {
  perform(store, request).then(
    (value) => port.postMessage({ id: request.id, value } satisfies StoreReply, transferablesOf(value)),
    (err: unknown) => port.postMessage({ id: request.id, error: errorToData(err) } satisfies StoreReply),
  )
})
