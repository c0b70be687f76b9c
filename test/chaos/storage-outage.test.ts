/**
 * Storage outages under load: S3 unreachable (a radosgw of this test's own whose gateway is
 * stopped and started again on the same data) and a full disk under the directory store (a
 * tiny tmpfs, grown afterwards). Live relaying goes on, flushes retry, the relay holds at most
 * MAX_PENDING_BYTES of unwritten updates and refuses new writes past it with 4507 (the clients
 * keep them and retry), /readyz reports the outage, and once storage is back every update the
 * relay accepted reaches storage: checked after a SIGKILL, so no shutdown flush helps.
 */
import { execFileSync } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { DocStore } from '../../server/docs/doc-store.js'
import { DirectoryStore } from '../../server/store/directory-store.js'
import type { ObjectStore, PutOptions } from '../../server/store/object-store.js'
import { S3Store } from '../../server/store/s3-store.js'
import { CloseCode } from '../../shared/errors.js'
import { testCleanup } from '../support/cleanup.js'
import { sleep, synced, waitFor } from '../support/clients.js'
import { edit, holdsAll, type Editor } from '../support/editors.js'
import { spawnRelay, startRelay, type RelayProcess } from '../support/relay.js'
import { startRadosgw } from '../support/s3-server.js'
import { LONG, int, testSeed, type Rng } from '../support/seed.js'

const cleanup = testCleanup()
const OUTAGE_MS = Number(process.env.OUTAGE_MS ?? (LONG ? 60_000 : 30_000))
/** The full-disk case repeats the same path through another store: shorter in npm test. */
const DISK_FULL_MS = Number(process.env.OUTAGE_MS ?? (LONG ? 60_000 : 10_000))
const MAX_PENDING_BYTES = 1024 * 1024
/** The heavy writer's edits: big enough to reach the bound within seconds. */
const HEAVY_EDIT = 'h'.repeat(64 * 1024)
const DOCS = ['outage/one', 'outage/two']

/** What the outage driver needs of a relay: a process, or one in this test's process. */
type Outaged = Pick<RelayProcess, 'url' | 'port' | 'stop'>

/** A directory store whose writes fail with ENOSPC while `full`: a full disk at the file-system boundary. */
class DiskThatFills extends DirectoryStore {
  full = false
  override async put(key: string, body: Uint8Array, options?: PutOptions): Promise<void> {
    if (this.full) throw Object.assign(new Error(`ENOSPC: no space left on device, write '${key}' (injected)`), { code: 'ENOSPC' })
    return super.put(key, body, options)
  }
}

function tryMount(args: string[]): boolean {
  try {
    execFileSync('mount', args, { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

interface Readiness {
  status: number
  pendingBytes: number
}

async function readiness(relay: Outaged): Promise<Readiness> {
  const res = await fetch(`http://127.0.0.1:${relay.port}/readyz`)
  const body = (await res.json()) as { pendingBytes?: number; error?: { pendingBytes?: number } }
  return { status: res.status, pendingBytes: body.pendingBytes ?? body.error?.pendingBytes ?? -1 }
}

/**
 * Drives editors through an outage that `breakStorage`/`repairStorage` cause, then checks the
 * promises of the module comment. Returns the figures for the log line.
 */
async function underOutage(
  name: string,
  rng: Rng,
  relay: Outaged,
  store: ObjectStore,
  breakStorage: () => Promise<void>,
  repairStorage: () => Promise<void>,
  outageMs: number,
): Promise<string> {
  const editors: Editor[] = []
  for (const [d, doc] of DOCS.entries()) {
    for (let k = 0; k < 2; k++) editors.push({ client: cleanup.client(relay.url, doc), name: `d${d}c${k}`, typed: [] })
  }
  const heavy: Editor = { client: cleanup.client(relay.url, DOCS[0]!), name: 'heavy', typed: [] }
  const backlogRefusals: number[] = []
  heavy.client.provider.on('connection-close', (event: { code: number } | null) => {
    if (event?.code === CloseCode.WRITE_BACKLOG_FULL) backlogRefusals.push(Date.now())
  })
  // Two clients that only show presence: a writer refused with 4507 reconnects and is
  // refused again while the backlog is full, a reader stays.
  const watchers = [cleanup.client(relay.url, DOCS[1]!), cleanup.client(relay.url, DOCS[1]!)]
  const all = [...editors, heavy]
  await Promise.all([...all, ...watchers].map((e) => synced('client' in e ? e.client : e)))

  let editing = true
  const typing = editors.map(async (e) => {
    while (editing) {
      edit(rng, e)
      await sleep(int(rng, 30, 150))
    }
  })
  let heavyStarted = false
  const heavyTyping = (async () => {
    while (editing) {
      // Until its first refusal: y-websocket sends everything a relay lacks as one message, so
      // a writer refused for long would pile up more than MAX_MESSAGE_BYTES and then be
      // refused with 4413 on every reconnect.
      if (heavyStarted && backlogRefusals.length === 0) edit(rng, heavy, HEAVY_EDIT)
      await sleep(int(rng, 100, 250))
    }
  })()

  await sleep(1000)
  await breakStorage()
  const outageStarted = Date.now()
  let maxPending = 0
  let notReady = 0
  let samples = 0
  let editsRelayed = 0
  let presenceRelayed = 0
  while (Date.now() - outageStarted < outageMs) {
    const r = await readiness(relay)
    samples++
    if (r.status === 503) notReady++
    maxPending = Math.max(maxPending, r.pendingBytes)
    // Live relaying goes on: document edits until the backlog reaches its bound (then they
    // are refused), presence all along.
    const tick = `live-${samples}`
    if (!heavyStarted) {
      editors[2]!.client.doc.getMap('live').set(tick, true)
      await waitFor(() => editors[3]!.client.doc.getMap('live').has(tick), `${name}: an edit relayed during the outage`, 10_000)
      editsRelayed++
    }
    watchers[0]!.provider.awareness.setLocalStateField('tick', tick)
    const other = watchers[0]!.doc.clientID
    await waitFor(() => watchers[1]!.provider.awareness.getStates().get(other)?.tick === tick, `${name}: presence relayed during the outage`, 10_000)
    presenceRelayed++
    // The heavy writer starts once the outage is established, and fills the backlog.
    if (Date.now() - outageStarted > 3000) heavyStarted = true
    await sleep(500)
  }
  await repairStorage()
  const outageLasted = Date.now() - outageStarted
  await sleep(1000)
  editing = false
  await Promise.all([...typing, heavyTyping])

  // /readyz saw the outage, the backlog stayed under its bound (plus one message in flight)
  // and the relay refused the heavy writer instead of buffering without end.
  expect(notReady, `${name}: /readyz answered 503 during the outage`).toBeGreaterThan(samples / 2)
  expect(maxPending, `${name}: pending bytes bounded`).toBeLessThanOrEqual(MAX_PENDING_BYTES + 2 * HEAVY_EDIT.length)
  expect(backlogRefusals.length, `${name}: new writes refused with 4507 past MAX_PENDING_BYTES`).toBeGreaterThan(0)
  expect(editsRelayed).toBeGreaterThan(0)

  // After recovery: every client's every edit is everywhere, the backlog drains, /readyz is 200.
  for (const [d, doc] of DOCS.entries()) {
    const members = all.filter((e) => e.client.provider.roomname === doc)
    const tokens = all.filter((e) => e.name.startsWith(`d${d}`) || (d === 0 && e === heavy)).flatMap((e) => e.typed)
    await waitFor(() => members.every((e) => holdsAll(e.client.doc, tokens)), `${name}: ${doc} converged after recovery`, 120_000)
  }
  let ready: Readiness = { status: 0, pendingBytes: -1 }
  for (let i = 0; i < 240 && !(ready.status === 200 && ready.pendingBytes === 0); i++) {
    await sleep(250)
    ready = await readiness(relay)
  }
  expect(ready, `${name}: ready with nothing pending after recovery`).toEqual({ status: 200, pendingBytes: 0 })

  // Everything accepted is in storage itself: kill the relay without a chance to flush.
  await relay.stop('SIGKILL')
  const docs = new DocStore(store, { instanceId: 'check', snapshotRetention: 2 })
  let tokens = 0
  for (const [d, doc] of DOCS.entries()) {
    const stored = (await docs.load({ scope: '', path: doc })).update
    const replica = all.find((e) => e.client.provider.roomname === doc)!.client.doc
    const expected = all.filter((e) => e.name.startsWith(`d${d}`) || (d === 0 && e === heavy)).flatMap((e) => e.typed)
    const fromStorage = new Y.Doc()
    Y.applyUpdate(fromStorage, stored)
    expect(holdsAll(fromStorage, expected), `${name}: ${doc} storage holds every edit`).toBe(true)
    expect(fromStorage.getArray('a').length).toBe(replica.getArray('a').length)
    tokens += expected.length
  }
  return `${name}: outage ${Math.round(outageLasted / 1000)} s, /readyz 503 in ${notReady}/${samples} samples, ${editsRelayed} edits and ${presenceRelayed} presence changes relayed during it, ` +
    `max pending ${maxPending} B (limit ${MAX_PENDING_BYTES}), ${backlogRefusals.length} refusals with 4507, ${tokens} edits all in storage`
}

describe('storage outages', () => {
  it(`S3 unreachable for ${OUTAGE_MS / 1000} s under load loses nothing and stays bounded`, { timeout: OUTAGE_MS * 2 + 240_000 }, async () => {
    const { seed, rng } = testSeed('s3-outage')
    // A gateway of this test's own: the shared one serves other test files meanwhile.
    const s3 = await startRadosgw()
    cleanup.defer(() => s3.stop())
    const bucket = `outage-${seed}`
    const relay = await spawnRelay({
      S3_ENDPOINT: s3.endpoint,
      S3_REGION: s3.region,
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      S3_BUCKET: bucket,
      MAX_PENDING_BYTES: String(MAX_PENDING_BYTES),
    })
    cleanup.defer(() => relay.stop('SIGKILL'))
    const store = new S3Store({ endpoint: s3.endpoint, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, bucket, forcePathStyle: true })
    const summary = await underOutage('s3', rng, relay, store, () => s3.stopGateway(), () => s3.startGateway(), OUTAGE_MS)
    console.log(`[s3-outage] seed ${seed}: ${summary}`)
  })

  it(`a full disk under the directory store for ${DISK_FULL_MS / 1000} s loses nothing and stays bounded`, { timeout: DISK_FULL_MS * 2 + 240_000 }, async () => {
    const { seed, rng } = testSeed('disk-full')
    const dir = await mkdtemp(join(tmpdir(), 'yrelay-full-'))
    const limits = { MAX_PENDING_BYTES: MAX_PENDING_BYTES, COMPACT_LOG_COUNT: 1_000_000, COMPACT_LOG_BYTES: 2 ** 40 }
    let relay: Outaged
    let fill: () => Promise<void>
    let grow: () => Promise<void>
    if (process.env.DISK_FULL_INJECT !== '1' && tryMount(['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir])) {
      // A 4 MB tmpfs fills within seconds under the heavy writer; growing it is the repair.
      cleanup.defer(() => execFileSync('umount', ['-l', dir]))
      const process_ = await spawnRelay({ DATA_DIR: dir, ...Object.fromEntries(Object.entries(limits).map(([k, v]) => [k, String(v)])) })
      cleanup.defer(() => process_.stop('SIGKILL'))
      relay = process_
      fill = () => {
        // Whatever space is left goes to a ballast file, so the next flush fails with ENOSPC.
        try {
          execFileSync('dd', ['if=/dev/zero', `of=${join(dir, '.ballast')}`, 'bs=64k'], { stdio: 'ignore' })
        } catch {
          // dd stops with an error once the disk is full: that is the point.
        }
        return Promise.resolve()
      }
      grow = () => {
        execFileSync('mount', ['-o', 'remount,size=256m', dir])
        return Promise.resolve()
      }
    } else {
      // No privilege to mount: the same outage as ENOSPC at the store's file-system boundary,
      // with the relay in this process (the final check then follows a drain, not a SIGKILL).
      console.log('[disk-full] cannot mount a tmpfs here: injecting ENOSPC into the directory store instead')
      const store = new DiskThatFills(dir)
      const inProcess = await startRelay(store, limits)
      let stopped = false
      const stop = async () => {
        if (!stopped) await inProcess.stop().catch(() => {})
        stopped = true
        return 0
      }
      cleanup.defer(stop)
      relay = { url: inProcess.url, port: inProcess.port, stop }
      fill = () => Promise.resolve(void (store.full = true))
      grow = () => Promise.resolve(void (store.full = false))
    }
    const summary = await underOutage('disk-full', rng, relay, new DirectoryStore(dir), fill, grow, DISK_FULL_MS)
    console.log(`[disk-full] seed ${seed}: ${summary}`)
  })
})
