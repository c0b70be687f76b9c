/**
 * The room's side of the cluster interface, on a real directory store: what it tells its link,
 * what it does with updates and presence from other relays, and what it persists.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { pino } from 'pino'
import * as Y from 'yjs'
import type { ClusterRoom, RoomLink } from '../server/cluster/link.js'
import { DocStore } from '../server/docs/doc-store.js'
import { singleTenantRef } from '../server/docs/layout.js'
import { Tombstones } from '../server/docs/tombstones.js'
import { Metrics } from '../server/metrics.js'
import { Room, type Peer } from '../server/relay/room.js'
import { WriteBacklog } from '../server/relay/write-backlog.js'
import { DirectoryStore } from '../server/store/directory-store.js'
import { encodeAwarenessMessage, encodeSyncUpdate, parseAwarenessUpdate, parseMessage } from '../shared/protocol.js'
import { tempDir } from './support/stores.js'

class RecordingLink implements RoomLink {
  readonly calls: string[] = []
  updates: Uint8Array[] = []
  loaded(contains: string[]): void {
    this.calls.push(`loaded ${contains.length}`)
  }
  update(update: Uint8Array): void {
    this.updates.push(update)
  }
  awareness(): void {
    this.calls.push('awareness')
  }
  persisted(localUpdates: number): void {
    this.calls.push(`persisted ${localUpdates}`)
  }
  close(): void {
    this.calls.push('close')
  }
}

class FramePeer implements Peer {
  static next = 1
  readonly id = FramePeer.next++
  readonly ext = false
  receivedUpdates = 0
  savedUpdates = 0
  readonly awarenessIds = new Set<number>()
  readonly frames: Uint8Array[] = []
  send(frame: Uint8Array): void {
    this.frames.push(frame)
  }
  close(): void {}
  refuse(): void {}
}

function textUpdate(text: string): Uint8Array {
  const doc = new Y.Doc()
  doc.getText('t').insert(0, text)
  return Y.encodeStateAsUpdate(doc)
}

async function storedText(docs: DocStore, name: string): Promise<string> {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, (await docs.load(singleTenantRef(name))).update)
  return doc.getText('t').toString()
}

async function openRoom(name: string): Promise<{ room: Room; docs: DocStore; link: RecordingLink }> {
  const store = new DirectoryStore(await tempDir())
  const docs = new DocStore(store, { instanceId: 'unit', snapshotRetention: 2 })
  const link = new RecordingLink()
  const options = { flushMs: 60_000, flushBytes: 1 << 20, compactLogCount: 50, compactLogBytes: 1 << 23, backlog: new WriteBacklog(1 << 28) }
  const room = new Room(name, singleTenantRef(name), { docs, tombstones: new Tombstones(store) }, options, pino({ level: 'silent' }), new Metrics(), () => {}, (r: ClusterRoom) => {
    expect(r.name).toBe(name)
    return link
  })
  await room.ready
  return { room, docs, link }
}

afterEach(() => {
  vi.useRealTimers()
})

describe('a room linked to other relays', () => {
  it('publishes local updates and reports them persisted; relays remote ones without writing them', async () => {
    const { room, docs, link } = await openRoom('notes/linked')
    expect(link.calls).toEqual(['loaded 0'])
    const writer = new FramePeer()
    const reader = new FramePeer()
    room.join(writer)
    room.join(reader)
    const local = textUpdate('local')
    room.onUpdate(writer, encodeSyncUpdate(local), 2, local)
    expect(link.updates).toEqual([local])
    const remote = textUpdate('remote')
    room.receiveRemote(remote)
    expect(reader.frames.map((f) => parseMessage(f))).toContainEqual({ type: 'sync-update', syncType: 2, update: remote })
    await room.flushNow()
    expect(link.calls).toContain('persisted 1')
    const stored = await storedText(docs, 'notes/linked')
    expect(stored).toContain('local')
    expect(stored).not.toContain('remote')
    room.persistRemote(remote)
    await room.flushNow()
    expect(await storedText(docs, 'notes/linked')).toContain('remote')
    // The diff for an empty state vector is everything the room holds, remote updates included.
    const everything = new Y.Doc()
    Y.applyUpdate(everything, room.diffFor(new Uint8Array([0])))
    expect(everything.getText('t').toString()).toMatch(/local|remote/)
    expect(everything.getText('t').length).toBe('localremote'.length)
    room.close()
    expect(link.calls.at(-1)).toBe('close')
  })

  it('forgets presence from another relay that stopped renewing it for 30 s', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const { room } = await openRoom('notes/presence')
    room.receiveRemoteAwareness(encodeAwarenessMessage([{ clientId: 7, clock: 1, stateJson: '{"user":"ghost"}' }]))
    const peer = new FramePeer()
    room.join(peer)
    const ids = () => {
      peer.frames.length = 0
      room.onQueryAwareness(peer)
      const msg = parseMessage(peer.frames[0]!)
      return msg.type === 'awareness' ? parseAwarenessUpdate(msg.update).map((e) => e.clientId) : []
    }
    expect(ids()).toEqual([7])
    vi.setSystemTime(Date.now() + 20_000)
    expect(ids()).toEqual([7])
    vi.setSystemTime(Date.now() + 11_000)
    expect(ids()).toEqual([])
    expect(room.localAwarenessFrame()).toBeNull()
  })
})
