/**
 * Convergence property: N clients make random edits on text, maps and arrays, go offline at
 * random for a while, and keep going while the relay process is killed (SIGKILL), stopped
 * (SIGTERM) and restarted, compacting every few flushes. The clients opt in to the *saved*
 * extension and remember which of their update messages the relay acknowledged as durable.
 *   - At every kill, storage (read directly) contains every update acknowledged so far: no
 *     client's replica helps there.
 *   - At the end every replica, the relay and storage hold the identical document.
 */
import { describe, expect, it } from 'vitest'
import * as decoding from 'lib0/decoding'
import { WebSocket } from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { DocStore } from '../../server/docs/doc-store.js'
import { MessageType, SyncType, parseExtensionMessage } from '../../shared/protocol.js'
import { testCleanup } from '../support/cleanup.js'
import { sleep, waitFor } from '../support/clients.js'
import { stateOfDoc, stateOfUpdate } from '../support/doc-state.js'
import { randomEdit } from '../support/fuzz-frames.js'
import { spawnRelay, type RelayProcess } from '../support/relay.js'
import { freePort } from '../support/s3-server.js'
import { LONG, chance, int, testSeed } from '../support/seed.js'
import { s3Env, s3Store } from '../support/stores.js'

const cleanup = testCleanup()
const CLIENTS = 6
const ROUNDS = Number(process.env.CONVERGENCE_ROUNDS ?? (LONG ? 400 : 60))
const DOC = 'converge/doc'

/** A replica whose sockets record each update message sent and each *saved* received. */
class TrackedClient {
  readonly doc = new Y.Doc()
  readonly provider: WebsocketProvider
  /** Update payloads the relay acknowledged as durable, across all connections. */
  readonly acknowledged: Uint8Array[] = []

  constructor(url: string) {
    const acknowledged = this.acknowledged
    class TrackingSocket extends WebSocket {
      private readonly sent: Uint8Array[] = []
      private saved = 0
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols)
        // y-websocket sets binaryType 'arraybuffer'.
        this.on('message', (data: ArrayBuffer | Buffer) => {
          const bytes = new Uint8Array(data)
          if (bytes[0] !== MessageType.EXT) return
          const ext = parseExtensionMessage(bytes)
          if (ext?.kind !== 'saved') return
          acknowledged.push(...this.sent.slice(this.saved, ext.count))
          this.saved = Math.max(this.saved, ext.count)
        })
      }
      override send(data: Uint8Array): void {
        const bytes = new Uint8Array(data)
        if (bytes[0] === MessageType.SYNC && (bytes[1] === SyncType.STEP2 || bytes[1] === SyncType.UPDATE)) {
          this.sent.push(decoding.readVarUint8Array(decoding.createDecoder(bytes.subarray(2))))
        }
        super.send(data)
      }
    }
    this.provider = new WebsocketProvider(url, DOC, this.doc, {
      WebSocketPolyfill: TrackingSocket as unknown as typeof globalThis.WebSocket,
      params: { ext: '1' },
      disableBc: true,
      maxBackoffTime: 300,
    })
    // The extension messages are for this test, not for y-websocket.
    this.provider.messageHandlers[MessageType.EXT] = () => {}
  }

  destroy(): void {
    this.provider.destroy()
  }
}

/**
 * True when the updates add nothing to the stored state: no operation, no deletion, and no
 * struct that would wait for a missing one. (Storage may itself hold structs waiting for
 * others mid-run — updates nobody acknowledged yet, held by the clients — so those are
 * compared before and after rather than required to be absent.)
 */
function contains(stored: Uint8Array, updates: Uint8Array[]): boolean {
  if (updates.length === 0) return true
  const doc = new Y.Doc()
  Y.applyUpdate(doc, stored)
  const state = () =>
    [Y.encodeSnapshot(Y.snapshot(doc)), doc.store.pendingStructs?.update ?? new Uint8Array(0), doc.store.pendingDs ?? new Uint8Array(0)]
      .map((b) => Buffer.from(b).toString('base64'))
      .join('/')
  const before = state()
  Y.applyUpdate(doc, Y.mergeUpdates(updates))
  return state() === before
}

describe('convergence', () => {
  it(`${CLIENTS} clients, ${ROUNDS} rounds of edits, offline spells, relay kills and compactions converge and keep everything acknowledged`, { timeout: LONG ? 3_600_000 : 300_000 }, async () => {
    const { seed, rng } = testSeed('convergence')
    const bucket = s3Env()
    const port = await freePort()
    const env = { ...bucket, FLUSH_MS: '100', COMPACT_LOG_COUNT: '4' }
    let relay: RelayProcess = await spawnRelay(env, port)
    cleanup.defer(() => relay.stop('SIGKILL'))
    const docs = new DocStore(s3Store(bucket.S3_BUCKET), { instanceId: 'check', snapshotRetention: 2 })
    const clients = Array.from({ length: CLIENTS }, () => new TrackedClient(relay.url))
    cleanup.defer(() => clients.forEach((c) => c.destroy()))
    const offlineUntil = new Array<number>(CLIENTS).fill(-1)
    let kills = 0
    let stops = 0
    let ackChecks = 0

    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, c] of clients.entries()) {
        if (offlineUntil[i] === round) {
          c.provider.connect()
          offlineUntil[i] = -1
        } else if (offlineUntil[i] === -1 && chance(rng, 0.05)) {
          c.provider.disconnect()
          offlineUntil[i] = round + int(rng, 1, 8)
        }
        const edits = int(rng, 0, 3)
        for (let e = 0; e < edits; e++) randomEdit(rng, c.doc, `c${i}r${round}-`)
      }
      // Random restarts, and at least one of each kind in every run.
      const event = round === Math.floor(ROUNDS / 3) ? 0 : round === Math.floor((2 * ROUNDS) / 3) ? 7 : int(rng, 0, 99)
      if (event < 6) {
        // SIGKILL: whatever was acknowledged must already be in storage, with no help from anyone.
        await relay.stop('SIGKILL')
        kills++
        const stored = (await docs.load({ scope: '', path: DOC })).update
        for (const [i, c] of clients.entries()) {
          expect(contains(stored, c.acknowledged), `seed ${seed}, round ${round}: client ${i}'s acknowledged updates in storage after SIGKILL`).toBe(true)
          ackChecks += c.acknowledged.length
        }
        await sleep(int(rng, 0, 300))
        relay = await spawnRelay(env, port)
      } else if (event < 8) {
        expect(await relay.stop('SIGTERM')).toBe(0)
        stops++
        relay = await spawnRelay(env, port)
      }
      await sleep(int(rng, 20, 150))
    }

    for (const [i, c] of clients.entries()) if (offlineUntil[i] !== -1) c.provider.connect()
    const same = () => {
      const states = clients.map((c) => JSON.stringify(stateOfDoc(c.doc)))
      return clients.every((c) => c.provider.synced) && states.every((s) => s === states[0])
    }
    await waitFor(same, `seed ${seed}: replicas converge`, 120_000)
    const finalState = stateOfDoc(clients[0]!.doc)
    // Everything is acknowledged once the relay has written it; then storage alone must hold it.
    await waitFor(
      () => clients.every((c) => c.acknowledged.length > 0),
      `seed ${seed}: acknowledgements`,
      60_000,
    )
    let pending = -1
    for (let i = 0; i < 120 && pending !== 0; i++) {
      await sleep(250)
      pending = ((await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as { pendingBytes: number }).pendingBytes
    }
    expect(pending).toBe(0)
    await relay.stop('SIGKILL')
    const loaded = await docs.load({ scope: '', path: DOC })
    const stored = loaded.update
    const snapshots = loaded.snapshotsRead
    // Compaction ran mid-way (every 4 logs): the document is read from a snapshot.
    expect(snapshots).toBeGreaterThan(0)
    expect(stateOfUpdate(stored), `seed ${seed}: storage equals every replica`).toEqual(finalState)
    for (const [i, c] of clients.entries()) {
      expect(contains(stored, c.acknowledged), `seed ${seed}: client ${i}'s acknowledged updates in storage`).toBe(true)
      ackChecks += c.acknowledged.length
    }
    const acked = clients.reduce((n, c) => n + c.acknowledged.length, 0)
    console.log(
      `[convergence] seed ${seed}: ${ROUNDS} rounds, ${CLIENTS} clients, ${kills} SIGKILLs, ${stops} SIGTERM restarts, ` +
        `${acked} acknowledged updates, ${ackChecks} containment checks; final document ${finalState.json.t.length} characters, ` +
        `${Object.keys(finalState.json.m as object).length} map keys, ${(finalState.json.a as unknown[]).length} array items; ${snapshots} snapshot(s) read at the end`,
    )
  })
})
