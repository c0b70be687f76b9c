/**
 * Crash loop: ten clients, each keeping its replica like the SDK does (a Y.Doc behind an
 * unmodified y-websocket provider that reconnects), edit without pause while the relay process
 * is killed with SIGKILL and restarted at random moments. Each client records every edit it
 * made, so the final check is exact: every client, a fresh client, and the document loaded
 * straight from storage hold identical content containing every recorded edit.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { DocStore } from '../../server/docs/doc-store.js'
import { testCleanup } from '../support/cleanup.js'
import { sleep, synced, waitFor } from '../support/clients.js'
import { stateOfDoc, stateOfUpdate } from '../support/doc-state.js'
import { spawnRelay, type RelayProcess } from '../support/relay.js'
import { edit, holdsAll, type Editor } from '../support/editors.js'
import { LONG, int, testSeed } from '../support/seed.js'
import { freePort } from '../support/s3-server.js'
import { s3Env, s3Store } from '../support/stores.js'

const cleanup = testCleanup()
const CYCLES = Number(process.env.CRASH_CYCLES ?? (LONG ? 100 : 10))
const CLIENTS = 10
const DOC = 'crash/loop'

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
    await waitFor(
      () => editors.every((e) => e.client.provider.synced && holdsAll(e.client.doc, everything)),
      'every client holds every edit',
      120_000,
    )
    const reference = JSON.stringify(expected())
    await waitFor(() => editors.every((e) => JSON.stringify(stateOfDoc(e.client.doc)) === reference), 'identical replicas', 60_000)

    // A fresh client gets it all from the relay ...
    const fresh = cleanup.client(relay.url, DOC, { doc: new Y.Doc() })
    await synced(fresh)
    await waitFor(() => JSON.stringify(stateOfDoc(fresh.doc)) === reference, 'fresh client identical', 60_000)

    // ... and so does storage, once the clients are gone and the relay has stopped cleanly.
    for (const e of editors) e.client.destroy()
    fresh.destroy()
    expect(await relay.stop('SIGTERM'), relay.output()).toBe(0)
    const stored = await new DocStore(s3Store(bucket.S3_BUCKET), { instanceId: 'check', snapshotRetention: 2 }).load({ scope: '', path: DOC })
    expect(JSON.stringify(stateOfUpdate(stored.update))).toBe(reference)
    relay = await spawnRelay(bucket, port)
    const fromStorage = cleanup.client(relay.url, DOC, { doc: new Y.Doc() })
    await synced(fromStorage)
    await waitFor(() => JSON.stringify(stateOfDoc(fromStorage.doc)) === reference, 'fresh client after restart identical')
    expect(holdsAll(fromStorage.doc, everything)).toBe(true)

    console.log(
      `[crash-loop] seed ${seed}: survived ${kills} SIGKILLs; ${everything.length} edits by ${CLIENTS} clients ` +
        `(${editors.map((e) => e.typed.length).join(', ')}), every one found in ${CLIENTS} replicas, a fresh client and storage`,
    )
  })
})
