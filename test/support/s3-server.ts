/**
 * Starts Ceph's S3 gateway (radosgw) for the test run: a real S3 server over HTTP that checks
 * signatures and conditional writes. About 1 start in 90 fails on Pacific; one retry with a
 * fresh directory and port covers it.
 */
import { execFile } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const SCRIPT = new URL('./radosgw.sh', import.meta.url).pathname

export interface S3Server {
  endpoint: string
  accessKeyId: string
  secretAccessKey: string
  region: string
  stop(): Promise<void>
  /** Stops the S3 gateway only (requests are refused; the stored objects stay). */
  stopGateway(): Promise<void>
  /** Starts the gateway again on the same port and data; resolves once it answers. */
  startGateway(): Promise<void>
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port
      srv.close(() => resolve(port))
    })
  })
}

export async function startRadosgw(): Promise<S3Server> {
  const accessKeyId = 'yrelaytest'
  const secretAccessKey = 'yrelaytestsecret'
  let lastError: unknown
  for (let attempt = 1; attempt <= 2; attempt++) {
    const dir = await mkdtemp(join(tmpdir(), 'yrelay-rgw-'))
    const port = await freePort()
    try {
      const { stdout } = await run(SCRIPT, ['up', dir, String(port), accessKeyId, secretAccessKey], { timeout: 120_000 })
      if (!stdout.includes(`READY ${port}`)) throw new Error(`radosgw did not report ready: ${stdout}`)
      return {
        endpoint: `http://127.0.0.1:${port}`,
        accessKeyId,
        secretAccessKey,
        region: 'us-east-1',
        stop: async () => {
          await run(SCRIPT, ['down', dir], { timeout: 30_000 })
        },
        stopGateway: async () => {
          await run(SCRIPT, ['gateway-stop', dir], { timeout: 30_000 })
        },
        startGateway: async () => {
          await run(SCRIPT, ['gateway-start', dir, String(port)], { timeout: 120_000 })
        },
      }
    } catch (err) {
      lastError = err
      await run(SCRIPT, ['down', dir]).catch(() => {})
    }
  }
  throw new Error(
    `could not start radosgw (Debian packages radosgw, ceph-mon, ceph-osd; .ci/run installs them): ${(lastError as Error).message}`,
  )
}
