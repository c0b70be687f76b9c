/** Unmodified y-websocket clients against an in-process relay on the directory store. */
import { describe, expect, it } from 'vitest'
import { testCleanup } from './support/cleanup.js'
import { WebSocket } from 'ws'
import * as Y from 'yjs'
import { encodeSyncUpdate } from '../shared/protocol.js'
import { contentOf, sleep, synced, waitFor } from './support/clients.js'
import { startRelay, type InProcessRelay } from './support/relay.js'
import { freshStore } from './support/stores.js'

const cleanup = testCleanup()
const client = cleanup.client

async function relayOnDirectory(config = {}): Promise<InProcessRelay & { store: Awaited<ReturnType<typeof freshStore>> }> {
  const store = await freshStore('directory')
  const r = await startRelay(store, config)
  cleanup.defer(() => r.stop())
  return { ...r, store }
}

describe('relay with unmodified y-websocket clients', () => {
  it('two clients converge on text edits and see each other’s awareness; a late joiner gets everything', async () => {
    const { url } = await relayOnDirectory()
    const a = client(url, 'notes/a')
    const b = client(url, 'notes/a')
    await Promise.all([synced(a), synced(b)])
    a.provider.awareness.setLocalStateField('user', { name: 'Ada' })
    b.provider.awareness.setLocalStateField('user', { name: 'Bob' })
    a.text.insert(0, 'hello ')
    b.text.insert(0, 'world ')
    await waitFor(() => a.text.toString().length === 12 && b.text.toString() === a.text.toString(), 'text convergence')
    await waitFor(
      () => a.provider.awareness.getStates().get(b.doc.clientID)?.user?.name === 'Bob' &&
        b.provider.awareness.getStates().get(a.doc.clientID)?.user?.name === 'Ada',
      'awareness both ways',
    )
    const c = client(url, 'notes/a')
    await synced(c)
    await waitFor(() => c.text.toString() === a.text.toString(), 'late joiner state')
    await waitFor(() => c.provider.awareness.getStates().get(a.doc.clientID)?.user?.name === 'Ada', 'late joiner awareness')
  })

  it('removes a closed connection’s awareness state for the others', async () => {
    const { url } = await relayOnDirectory()
    const a = client(url, 'notes/presence')
    const b = client(url, 'notes/presence')
    await Promise.all([synced(a), synced(b)])
    b.provider.awareness.setLocalStateField('user', { name: 'Bob' })
    await waitFor(() => a.provider.awareness.getStates().has(b.doc.clientID), 'b visible to a')
    // Kill b's socket without letting y-websocket say goodbye: the relay must clean up for it.
    b.provider.shouldConnect = false
    ;(b.provider.ws as unknown as WebSocket).terminate()
    await waitFor(() => !a.provider.awareness.getStates().has(b.doc.clientID), 'b removed from a’s awareness')
  })

  it('keeps rooms apart', async () => {
    const { url } = await relayOnDirectory()
    const a = client(url, 'notes/one')
    const b = client(url, 'notes/two')
    await Promise.all([synced(a), synced(b)])
    a.text.insert(0, 'only in one')
    await sleep(300)
    expect(b.text.toString()).toBe('')
  })

  it('merges offline edits on reconnect: both sides keep every edit', async () => {
    const { url } = await relayOnDirectory()
    const a = client(url, 'notes/offline')
    const b = client(url, 'notes/offline')
    await Promise.all([synced(a), synced(b)])
    a.text.insert(0, 'base.')
    await waitFor(() => b.text.toString() === 'base.', 'base synced')
    a.provider.disconnect()
    a.text.insert(5, ' offline-a')
    b.text.insert(0, 'online-b ')
    await sleep(100)
    expect(a.text.toString()).not.toContain('online-b')
    a.provider.connect()
    await waitFor(() => a.text.toString() === b.text.toString() && a.text.toString().includes('offline-a') && a.text.toString().includes('online-b'), 'offline merge')
    expect(contentOf(a.doc)).toEqual(contentOf(b.doc))
  })

  it('answers sync step 1 only after the stored state is loaded, for many simultaneous joiners, loading once', async () => {
    const { url, relay } = await relayOnDirectory()
    const writer = client(url, 'notes/storm')
    await synced(writer)
    writer.text.insert(0, 'x'.repeat(5000))
    await waitFor(() => relay.rooms.size === 1, 'room open')
    writer.destroy()
    await waitFor(() => relay.rooms.size === 0, 'room unloaded after flush')
    const loadsBefore = relay.rooms.loads
    const joiners = Array.from({ length: 20 }, () => client(url, 'notes/storm'))
    await Promise.all(joiners.map(synced))
    for (const j of joiners) expect(j.text.toString()).toHaveLength(5000)
    expect(relay.rooms.loads - loadsBefore).toBe(1)
  })

  it('refuses frames over the size limit with 4413 and keeps serving others', async () => {
    const { url } = await relayOnDirectory({ MAX_MESSAGE_BYTES: 64 * 1024 })
    const a = client(url, 'notes/big')
    await synced(a)
    const ws = new WebSocket(`${url}/notes/big`)
    await new Promise((r) => ws.once('open', r))
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.once('close', (code, reason) => r({ code, reason: reason.toString() })))
    ws.send(new Uint8Array(100 * 1024))
    const { code, reason } = await closed
    expect(code).toBe(4413)
    expect(reason).toMatch(/too large/)
    a.text.insert(0, 'still fine')
    const b = client(url, 'notes/big')
    await waitFor(() => b.text.toString() === 'still fine', 'relay still serving')
  })

  it('closes a connection that sends a malformed update with 4400 and forwards nothing', async () => {
    const { url } = await relayOnDirectory()
    const a = client(url, 'notes/bad')
    await synced(a)
    let received = 0
    a.doc.on('update', () => received++)
    const ws = new WebSocket(`${url}/notes/bad?ext=1`)
    await new Promise((r) => ws.once('open', r))
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)))
    // sync/update with a corrupt Yjs update: claims 5 structs but carries garbage.
    ws.send(new Uint8Array([0, 2, 6, 5, 200, 201, 202, 203, 204]))
    expect(await closed).toBe(4400)
    await sleep(200)
    expect(received).toBe(0)
    expect(a.provider.wsconnected).toBe(true)
  })
})

describe('standard protocol surface', () => {
  it('sends extension messages only to clients that opt in', async () => {
    const { url } = await relayOnDirectory()
    const types = async (query: string) => {
      const ws = new WebSocket(`${url}/notes/ext${query}`)
      const seen: number[] = []
      ws.on('message', (d: Buffer) => seen.push(d[0]!))
      await new Promise((r) => ws.once('open', r))
      const doc = new Y.Doc()
      doc.getText('t').insert(0, 'hi')
      const update = Y.encodeStateAsUpdate(doc)
      ws.send(encodeSyncUpdate(update))
      await sleep(700)
      ws.close()
      return seen
    }
    expect(await types('')).not.toContain(100)
    expect(await types('?ext=1')).toContain(100)
  })
})

describe('slow clients', () => {
  it('disconnects a client that stops reading instead of buffering for it without bound', async () => {
    const { url, relay } = await relayOnDirectory({ MAX_BUFFERED_BYTES: 1024 * 1024 })
    const slow = new WebSocket(`${url}/notes/flood`)
    await new Promise((r) => slow.once('open', r))
    // Stop reading: from here on the relay's frames pile up in the kernel, then in the relay.
    ;(slow as unknown as { _socket: { pause(): void } })._socket.pause()
    const writer = client(url, 'notes/flood')
    const reader = client(url, 'notes/flood')
    await Promise.all([synced(writer), synced(reader)])
    expect(relay.connectionCount).toBe(3)
    const chunk = 'x'.repeat(64 * 1024)
    for (let i = 0; i < 400 && relay.connectionCount === 3; i++) {
      writer.text.insert(writer.text.length, chunk)
      await sleep(2)
    }
    await waitFor(() => relay.connectionCount === 2, 'the slow client disconnected')
    await waitFor(() => reader.text.length === writer.text.length, 'the reading client still served')
    slow.terminate()
  })
})
