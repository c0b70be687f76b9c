/**
 * Convergence property: clients make random edits on text, maps and arrays of several
 * documents, go offline at random for a while, and keep going while the relay process is killed
 * (SIGKILL), stopped (SIGTERM) and restarted, compacting every few flushes, and while documents
 * are deleted through the HTTP API. The clients opt in to the *saved* extension and remember
 * which of their update messages the relay acknowledged as durable.
 *   - At every kill, storage (read directly) contains every update acknowledged so far for each
 *     live document (no client's replica helps there), and no object of a deleted one.
 *   - A deleted document's connected clients are closed with 4404. Its replicas keep editing and
 *     come back now and then, across later restarts, sending an edit as they connect: each
 *     return is refused with 4404, none ever syncs, and nothing of theirs reaches storage.
 *   - At the end every replica of a live document, and storage, hold the identical document;
 *     a deleted one is refused to a fresh client and only its tombstone is left in the bucket.
 */
import { describe, expect, it } from 'vitest'
import * as decoding from 'lib0/decoding'
import { WebSocket } from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'
import { DocStore } from '../../server/docs/doc-store.js'
import { docPrefix, tombstoneKey } from '../../server/docs/layout.js'
import { listAll } from '../../server/store/object-store.js'
import { CloseCode } from '../../shared/errors.js'
import { MessageType, SyncType, encodeSyncStep1, parseExtensionMessage } from '../../shared/protocol.js'
import { api } from '../support/api.js'
import { testCleanup } from '../support/cleanup.js'
import { sleep, waitFor } from '../support/clients.js'
import { stateOfDoc, stateOfUpdate } from '../support/doc-state.js'
import { randomEdit } from '../support/fuzz-frames.js'
import { spawnRelay, type RelayProcess } from '../support/relay.js'
import { freePort } from '../support/s3-server.js'
import { LONG, chance, int, testSeed } from '../support/seed.js'
import { s3Env, s3Store } from '../support/stores.js'

const cleanup = testCleanup()
const DOCS = 3
const CLIENTS_PER_DOC = 3
const ROUNDS = Number(process.env.CONVERGENCE_ROUNDS ?? (LONG ? 400 : 60))
/** Chance per round that a document is deleted; one always is, a quarter of the way in. */
const DELETE_CHANCE = 0.02
/** Chance per round that a deleted document's replica comes back, at most RETURNS times. */
const RETURN_CHANCE = 0.1
const RETURNS = 3

/** A replica whose sockets record each update message sent, each *saved* and each close code received. */
class TrackedClient {
  readonly doc = new Y.Doc()
  readonly provider: WebsocketProvider
  /** Update payloads the relay acknowledged as durable, across all connections. */
  readonly acknowledged: Uint8Array[] = []
  readonly closeCodes: number[] = []
  /** The round it comes back online at, or -1 while online. */
  offlineUntil = -1
  /** Its document was deleted: from then on it must never sync again. */
  deleted = false
  syncsAfterDelete = 0
  /** Connections since its document was deleted: each must end with exactly one 4404. */
  refusalsExpected = 0
  returns = 0

  constructor(
    url: string,
    readonly room: string,
  ) {
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
    this.provider = new WebsocketProvider(url, room, this.doc, {
      WebSocketPolyfill: TrackingSocket as unknown as typeof globalThis.WebSocket,
      params: { ext: '1' },
      disableBc: true,
      maxBackoffTime: 300,
    })
    // The extension messages are for this test, not for y-websocket.
    this.provider.messageHandlers[MessageType.EXT] = () => {}
    this.provider.on('connection-close', (event: CloseEvent | null) => {
      if (!event) return
      this.closeCodes.push(event.code)
      // y-websocket has detached the socket's handlers: nothing it sent before can sync us now.
      if (event.code === CloseCode.DOC_DELETED) this.deleted = true
    })
    this.provider.on('sync', (synced: boolean) => {
      if (synced && this.deleted) this.syncsAfterDelete++
    })
    // A replica of a deleted document pushes an edit the moment it is connected, before any
    // handshake, as a user typing while it reconnects would: the relay must drop it.
    this.provider.on('status', ({ status }: { status: string }) => {
      if (status === 'connected' && this.deleted) this.doc.getText('t').insert(0, 'zombie ')
    })
  }

  get refusals(): number {
    return this.closeCodes.filter((code) => code === CloseCode.DOC_DELETED).length
  }

  destroy(): void {
    this.provider.destroy()
  }
}

interface Space {
  name: string
  clients: TrackedClient[]
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

/** Connects a raw socket as a fresh replica (empty state vector) and resolves with its close code. */
function closeCodeOf(url: string): Promise<number> {
  const ws = new WebSocket(url)
  ws.on('error', () => {})
  ws.on('open', () => ws.send(encodeSyncStep1(new Uint8Array([0]))))
  return new Promise((resolve) => ws.once('close', (code) => resolve(code)))
}

describe('convergence', () => {
  it(
    `${DOCS * CLIENTS_PER_DOC} clients on ${DOCS} documents, ${ROUNDS} rounds of edits, offline spells, relay kills, compactions and deletes: ` +
      'live documents converge and keep everything acknowledged, deleted ones stay deleted',
    { timeout: LONG ? 3_600_000 : 300_000 },
    async () => {
      const { seed, rng } = testSeed('convergence')
      const bucket = s3Env()
      const port = await freePort()
      const env = { ...bucket, FLUSH_MS: '100', COMPACT_LOG_COUNT: '4' }
      let relay: RelayProcess = await spawnRelay(env, port)
      cleanup.defer(() => relay.stop('SIGKILL'))
      const store = s3Store(bucket.S3_BUCKET)
      const docs = new DocStore(store, { instanceId: 'check', snapshotRetention: 2 })
      const everyClient: TrackedClient[] = []
      cleanup.defer(() => everyClient.forEach((c) => c.destroy()))
      let generation = 0
      const newSpace = (slot: number): Space => {
        const name = `converge/s${slot}g${generation++}`
        const clients = Array.from({ length: CLIENTS_PER_DOC }, () => new TrackedClient(relay.url, name))
        everyClient.push(...clients)
        return { name, clients }
      }
      const live = Array.from({ length: DOCS }, (_, slot) => newSpace(slot))
      const deleted: Space[] = []
      const zombies: TrackedClient[] = []
      let kills = 0
      let stops = 0
      let ackChecks = 0
      let storageChecks = 0

      const objectsOf = async (name: string) => {
        const keys: string[] = []
        for await (const o of listAll(store, docPrefix({ scope: '', path: name }))) keys.push(o.key)
        storageChecks++
        return keys
      }
      const zombiesSettled = () => {
        const synced = zombies.find((z) => z.syncsAfterDelete > 0)
        if (synced) throw new Error(`seed ${seed}: a replica of deleted ${synced.room} synced with the relay`)
        return zombies.every((z) => !z.provider.shouldConnect && z.refusals === z.refusalsExpected)
      }
      const waitForZombies = (what: string) =>
        waitFor(zombiesSettled, `seed ${seed}: ${what}`, 30_000).catch((err: Error) => {
          const unsettled = zombies.filter((z) => z.provider.shouldConnect || z.refusals !== z.refusalsExpected)
          const report = unsettled.map((z) => `${z.room}: ${z.refusalsExpected} refusals expected, close codes [${z.closeCodes.join(', ')}], ${z.provider.shouldConnect ? 'still connecting' : 'stopped'}`)
          throw new Error(`${err.message}\n${report.join('\n')}`)
        })

      for (let round = 0; round < ROUNDS; round++) {
        for (const space of live) {
          for (const [i, c] of space.clients.entries()) {
            if (c.offlineUntil === round) {
              c.provider.connect()
              c.offlineUntil = -1
            } else if (c.offlineUntil === -1 && chance(rng, 0.05)) {
              c.provider.disconnect()
              c.offlineUntil = round + int(rng, 1, 8)
            }
            const edits = int(rng, 0, 3)
            for (let e = 0; e < edits; e++) randomEdit(rng, c.doc, `c${i}r${round}-`)
          }
        }
        // Replicas of deleted documents go on editing offline, and now and then come back. (The
        // draws do not depend on timing, so a seed replays the same choices.)
        for (const z of zombies) {
          const edits = int(rng, 0, 2)
          for (let e = 0; e < edits; e++) randomEdit(rng, z.doc, 'zombie-')
          if (chance(rng, RETURN_CHANCE) && z.returns < RETURNS && !z.provider.shouldConnect) {
            z.returns++
            z.refusalsExpected++
            z.provider.connect()
          }
        }

        const victim = int(rng, 0, DOCS - 1)
        if (chance(rng, DELETE_CHANCE) || round === Math.floor(ROUNDS / 4)) {
          const space = live[victim]!
          const connected = space.clients.filter((c) => c.provider.shouldConnect)
          const answer = await api(port, `/v1/docs/${space.name}`, { method: 'DELETE' })
          expect(answer.status, `seed ${seed}, round ${round}: DELETE ${space.name}`).toBe(200)
          for (const c of space.clients) {
            if (connected.includes(c)) c.refusalsExpected = 1
            // An offline replica's socket is gone: from now on it is a replica of a deleted document.
            else c.deleted = true
          }
          await waitFor(
            () => connected.every((c) => c.refusals === 1 && !c.provider.shouldConnect),
            `seed ${seed}, round ${round}: the connected clients of ${space.name} closed with 4404`,
          )
          deleted.push(space)
          zombies.push(...space.clients)
          live[victim] = newSpace(victim)
        }

        // Random restarts, and at least one of each kind in every run.
        const event = round === Math.floor(ROUNDS / 3) ? 0 : round === Math.floor((2 * ROUNDS) / 3) ? 7 : int(rng, 0, 99)
        if (event < 6) {
          // SIGKILL: whatever was acknowledged must already be in storage, with no help from anyone.
          await relay.stop('SIGKILL')
          kills++
          for (const space of live) {
            const stored = (await docs.load({ scope: '', path: space.name })).update
            for (const [i, c] of space.clients.entries()) {
              expect(contains(stored, c.acknowledged), `seed ${seed}, round ${round}: ${space.name} client ${i}'s acknowledged updates in storage after SIGKILL`).toBe(true)
              ackChecks += c.acknowledged.length
            }
          }
          for (const space of deleted) expect(await objectsOf(space.name), `seed ${seed}, round ${round}: objects of deleted ${space.name}`).toEqual([])
          await sleep(int(rng, 0, 300))
          relay = await spawnRelay(env, port)
        } else if (event < 8) {
          expect(await relay.stop('SIGTERM')).toBe(0)
          stops++
          relay = await spawnRelay(env, port)
        }
        await sleep(int(rng, 20, 150))
      }

      for (const space of live) for (const c of space.clients) if (c.offlineUntil !== -1) c.provider.connect()
      // Every replica of a deleted document comes back once more, after the last restart.
      await waitForZombies('returning replicas of deleted documents refused with 4404')
      for (const z of zombies) {
        randomEdit(rng, z.doc, 'zombie-')
        z.returns++
        z.refusalsExpected++
        z.provider.connect()
      }
      await waitForZombies('the last return of every replica of a deleted document refused with 4404')

      const finalStates = new Map<string, ReturnType<typeof stateOfDoc>>()
      for (const space of live) {
        const same = () => {
          const states = space.clients.map((c) => JSON.stringify(stateOfDoc(c.doc)))
          return space.clients.every((c) => c.provider.synced) && states.every((s) => s === states[0])
        }
        await waitFor(same, `seed ${seed}: replicas of ${space.name} converge`, 120_000)
        finalStates.set(space.name, stateOfDoc(space.clients[0]!.doc))
      }
      const liveClients = live.flatMap((s) => s.clients)
      // Everything is acknowledged once the relay has written it; then storage alone must hold it.
      await waitFor(() => liveClients.every((c) => c.acknowledged.length > 0), `seed ${seed}: acknowledgements`, 60_000)
      let pending = -1
      for (let i = 0; i < 120 && pending !== 0; i++) {
        await sleep(250)
        pending = ((await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as { pendingBytes: number }).pendingBytes
      }
      expect(pending).toBe(0)
      // Only the deleted documents' clients were ever refused as deleted.
      for (const c of liveClients) expect(c.closeCodes, `seed ${seed}: close codes of a client of live ${c.room}`).not.toContain(CloseCode.DOC_DELETED)
      for (const space of deleted) {
        expect(await closeCodeOf(`${relay.url}/${space.name}?ext=1`), `seed ${seed}: a fresh client of deleted ${space.name}`).toBe(CloseCode.DOC_DELETED)
        const read = await api(port, `/v1/docs/${space.name}`)
        expect([read.status, read.body?.error?.code], `seed ${seed}: GET deleted ${space.name}`).toEqual([404, 'doc_deleted'])
      }

      await relay.stop('SIGKILL')
      let snapshots = 0
      for (const space of live) {
        const loaded = await docs.load({ scope: '', path: space.name })
        snapshots += loaded.snapshotsRead
        expect(stateOfUpdate(loaded.update), `seed ${seed}: storage equals every replica of ${space.name}`).toEqual(finalStates.get(space.name))
        for (const [i, c] of space.clients.entries()) {
          expect(contains(loaded.update, c.acknowledged), `seed ${seed}: ${space.name} client ${i}'s acknowledged updates in storage`).toBe(true)
          ackChecks += c.acknowledged.length
        }
      }
      // Compaction ran mid-way (every 4 logs): documents are read from snapshots.
      expect(snapshots).toBeGreaterThan(0)
      for (const space of deleted) {
        expect(await objectsOf(space.name), `seed ${seed}: objects of deleted ${space.name} at the end`).toEqual([])
        expect(await store.get(tombstoneKey({ scope: '', path: space.name })), `seed ${seed}: tombstone of ${space.name}`).not.toBeNull()
      }

      const acked = liveClients.reduce((n, c) => n + c.acknowledged.length, 0)
      const returns = zombies.reduce((n, z) => n + z.returns, 0)
      const refusals = zombies.reduce((n, z) => n + z.refusals, 0)
      console.log(
        `[convergence] seed ${seed}: ${ROUNDS} rounds, ${everyClient.length} clients on ${generation} documents, ${kills} SIGKILLs, ${stops} SIGTERM restarts, ` +
          `${deleted.length} deletes; ${acked} acknowledged updates of live documents, ${ackChecks} containment checks; ` +
          `${returns} returns of deleted replicas, ${refusals} refusals with 4404 in all, ${storageChecks} listings of deleted documents empty; ` +
          `${snapshots} snapshot(s) read at the end`,
      )
    },
  )
})
