/**
 * Crash loop: ten clients, each keeping its replica like the SDK does (a Y.Doc behind an
 * unmodified y-websocket provider that reconnects), edit without pause while the relay process
 * is killed with SIGKILL and restarted at random moments. Each client records every edit it
 * made, so the final check is exact: every client, a fresh client, and the document loaded
 * straight from storage hold identical content containing every recorded edit.
 *
 * The relay lives about a second between kills, too short on loaded cores to bring every
 * client up to date: after 100 cycles (~76,000 edits) clients held only a quarter of the
 * others' edits when typing stopped, and caught up once the relay stayed up. So the wait for
 * that grows with the number of edits, and a timeout says which edits are missing where.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { DocStore } from '../../server/docs/doc-store.js'
import { testCleanup } from '../support/cleanup.js'
import { connectClient, sleep, synced, waitFor } from '../support/clients.js'
import { stateOfDoc, stateOfUpdate } from '../support/doc-state.js'
import { spawnRelay, type RelayProcess } from '../support/relay.js'
import { edit, holdsAll, missingEdits, type Editor } from '../support/editors.js'
import { LONG, int, testSeed } from '../support/seed.js'
import { freePort } from '../support/s3-server.js'
import { s3Env, s3Store } from '../support/stores.js'

const cleanup = testCleanup()
const CYCLES = Number(process.env.CRASH_CYCLES ?? (LONG ? 100 : 10))
const CLIENTS = 10
const DOC = 'crash/loop'
/** Added to the 120 s wait for convergence per recorded edit (76,000 edits: 272 s in all). */
const SETTLE_MS_PER_EDIT = 2

describe('crash loop', () => {
  it(`loses no edit of ${CLIENTS} clients through ${CYCLES} SIGKILLs of the relay`, { timeout: LONG ? 3_600_000 : 300_000 }, async () => {
    const { seed, rng } = testSeed('crash-loop')
    const bucket = s3Env()
    const port = await freePort()
    let relay: RelayProcess = await spawnRelay(bucket, port)
    cleanup.defer(() => relay.stop('SIGKILL'))

    const editors: Editor[] = Array.from({ length: CLIENTS }, (_, i) => ({ client: cleanup.client(relay.url, DOC), name: `c${i}`, typed: [] }))
    await Promise.all(editors.map((e) => synced(e.client)))
    let editing = true
    const typing = editors.map(async (editor) => {
      while (editing) {
        edit(rng, editor)
        await sleep(int(rng, 20, 120))
      }
    })

    let kills = 0
    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      await sleep(int(rng, 200, 1500))
      await relay.stop('SIGKILL')
      kills++
      await sleep(int(rng, 0, 500))
      relay = await spawnRelay(bucket, port)
    }
    await sleep(int(rng, 200, 1000))
    editing = false
    await Promise.all(typing)

    const everything = editors.flatMap((e) => e.typed)
    const expected = () => stateOfDoc(editors[0]!.client.doc)
    // Edits only ever add to the array: how far each replica is behind, cheaply.
    const behind = () => editors.map((e) => everything.length - e.client.doc.getArray('a').length)
    const lagAtStop = Math.max(...behind())
    const settleMs = 120_000 + SETTLE_MS_PER_EDIT * everything.length
    const settleStart = Date.now()
    await waitFor(
      // The exact check (a set of every item) runs only once the lengths say it can pass.
      () => behind().every((n) => n <= 0) && editors.every((e) => e.client.provider.synced && holdsAll(e.client.doc, everything)),
      `every client holds all ${everything.length} edits`,
      settleMs,
    ).catch(async (err: Error) => {
      throw new Error(`seed ${seed}: ${err.message}; where edits are missing:\n${await whereMissing(relay, editors, everything, bucket.S3_BUCKET!)}`)
    })
    const settledMs = Date.now() - settleStart
    const reference = JSON.stringify(expected())
    await waitFor(() => editors.every((e) => JSON.stringify(stateOfDoc(e.client.doc)) === reference), 'identical replicas', 60_000)

    // A fresh client gets it all from the relay ...
    const fresh = cleanup.client(relay.url, DOC, { doc: new Y.Doc() })
    await waitFor(() => fresh.provider.synced, 'fresh client synced', 60_000)
    await waitFor(() => JSON.stringify(stateOfDoc(fresh.doc)) === reference, 'fresh client identical', 60_000)

    // ... and so does storage, once the clients are gone and the relay has stopped cleanly.
    for (const e of editors) e.client.destroy()
    fresh.destroy()
    expect(await relay.stop('SIGTERM'), relay.output()).toBe(0)
    const stored = await new DocStore(s3Store(bucket.S3_BUCKET), { instanceId: 'check', snapshotRetention: 2 }).load({ scope: '', path: DOC })
    expect(JSON.stringify(stateOfUpdate(stored.update))).toBe(reference)
    relay = await spawnRelay(bucket, port)
    const fromStorage = cleanup.client(relay.url, DOC, { doc: new Y.Doc() })
    await waitFor(() => fromStorage.provider.synced, 'fresh client after restart synced', 60_000)
    await waitFor(() => JSON.stringify(stateOfDoc(fromStorage.doc)) === reference, 'fresh client after restart identical', 60_000)
    expect(holdsAll(fromStorage.doc, everything)).toBe(true)

    console.log(
      `[crash-loop] seed ${seed}: survived ${kills} SIGKILLs; ${everything.length} edits by ${CLIENTS} clients ` +
        `(${editors.map((e) => e.typed.length).join(', ')}), every one found in ${CLIENTS} replicas, a fresh client and storage; ` +
        `when typing stopped the clients lacked up to ${lagAtStop} of them, and held all ${Math.round(settledMs / 1000)} s later (bound ${Math.round(settleMs / 1000)} s)`,
    )
  })
})

/**
 * For a convergence timeout: the edits each client lacks, and those the relay (a fresh client)
 * and storage lack. An edit missing from the relay and storage while its author is connected
 * would be a loss; one the relay has but a client lacks, a client still catching up.
 */
async function whereMissing(relay: RelayProcess, editors: Editor[], everything: string[], bucket: string): Promise<string> {
  const line = (who: string, doc: Y.Doc) => {
    const missing = missingEdits(doc, everything)
    return `${who}: ${missing.count} missing${missing.count > 0 ? ` (${missing.list})` : ''}`
  }
  const lines = editors.map((e) => line(`${e.name} (${e.client.provider.wsconnected ? 'connected' : 'not connected'}, ${e.client.provider.synced ? 'synced' : 'not synced'})`, e.client.doc))
  if (relay.proc.exitCode !== null || relay.proc.signalCode !== null) {
    lines.push(`relay: the process exited (${relay.proc.exitCode ?? relay.proc.signalCode}); its last output:\n${relay.output().slice(-2000)}`)
  } else {
    const probe = connectClient(relay.url, DOC, { doc: new Y.Doc() })
    try {
      await waitFor(() => probe.provider.synced, 'a fresh client synced', 30_000)
      lines.push(line('relay (a fresh client)', probe.doc))
    } catch (err) {
      lines.push(`relay: ${(err as Error).message}`)
    } finally {
      probe.destroy()
    }
  }
  const stored = new Y.Doc()
  Y.applyUpdate(stored, (await new DocStore(s3Store(bucket), { instanceId: 'check', snapshotRetention: 2 }).load({ scope: '', path: DOC })).update)
  lines.push(line('storage', stored))
  return lines.join('\n')
}
