/** Documents on both stores: load = newest snapshot + logs, compaction, lock-free concurrency. */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { DocStore } from '../server/docs/doc-store.js'
import { docPrefix, type DocRef } from '../server/docs/layout.js'
import { listAll } from '../server/store/object-store.js'
import { STORE_KINDS, freshStore } from './support/stores.js'

const ref: DocRef = { scope: '', path: 'notes/compact' }

function jsonOf(update: Uint8Array): unknown {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, update)
  return { text: doc.getText('t').toString(), map: doc.getMap('m').toJSON() }
}

async function objectKeys(store: Awaited<ReturnType<typeof freshStore>>): Promise<string[]> {
  const keys: string[] = []
  for await (const o of listAll(store, docPrefix(ref))) keys.push(o.key)
  return keys
}

/** A writer that records each change as its own update, as a relay's flushes would. */
function writer(clientID: number) {
  const doc = new Y.Doc()
  doc.clientID = clientID
  return {
    doc,
    edit(i: number): Uint8Array {
      const before = Y.encodeStateVector(doc)
      doc.transact(() => {
        doc.getText('t').insert(doc.getText('t').length, `${clientID}:${i};`)
        doc.getMap('m').set(`k${clientID}-${i}`, i)
        if (i % 3 === 0 && doc.getText('t').length > 10) doc.getText('t').delete(0, 2)
      })
      return Y.encodeStateAsUpdate(doc, before)
    },
  }
}

describe.each(STORE_KINDS)('document store on %s', (kind) => {
  it('loads an empty document, then every appended log', async () => {
    const store = await freshStore(kind)
    const docs = new DocStore(store, { instanceId: 'a1', snapshotRetention: 2 })
    expect(jsonOf((await docs.load(ref)).update)).toEqual({ text: '', map: {} })
    const w = writer(1)
    for (let i = 0; i < 5; i++) await docs.appendLog(ref, w.edit(i))
    const loaded = await docs.load(ref)
    expect(loaded.logCount).toBe(5)
    expect(jsonOf(loaded.update)).toEqual(jsonOf(Y.encodeStateAsUpdate(w.doc)))
  })

  it('compaction drops the object count and keeps the content identical', async () => {
    const store = await freshStore(kind)
    const docs = new DocStore(store, { instanceId: 'a1', snapshotRetention: 2 })
    const w = writer(7)
    for (let i = 0; i < 30; i++) await docs.appendLog(ref, w.edit(i))
    const before = await objectKeys(store)
    expect(before).toHaveLength(30)
    const result = await docs.compact(ref)
    expect(result?.deleted).toBe(30)
    const after = await objectKeys(store)
    expect(after).toHaveLength(1)
    expect(after[0]).toMatch(/~snap\//)
    const loaded = await docs.load(ref)
    expect(loaded.logCount).toBe(0)
    expect(jsonOf(loaded.update)).toEqual(jsonOf(Y.encodeStateAsUpdate(w.doc)))
    for (let i = 30; i < 40; i++) await docs.appendLog(ref, w.edit(i))
    await docs.compact(ref)
    for (let i = 40; i < 45; i++) await docs.appendLog(ref, w.edit(i))
    await docs.compact(ref)
    const keys = await objectKeys(store)
    expect(keys.filter((k) => k.includes('~snap/'))).toHaveLength(2)
    expect(keys.filter((k) => k.includes('~log/'))).toHaveLength(0)
    expect(jsonOf((await docs.load(ref)).update)).toEqual(jsonOf(Y.encodeStateAsUpdate(w.doc)))
    expect(await docs.compact(ref)).toBeNull()
  })

  it('two relays compacting one document while a third writes lose nothing, even with skewed clocks', async () => {
    const store = await freshStore(kind)
    // b's clock runs an hour behind: its snapshots sort before a's even when written later.
    const a = new DocStore(store, { instanceId: 'aaaa', snapshotRetention: 1 })
    const b = new DocStore(store, { instanceId: 'bbbb', snapshotRetention: 1, now: () => Date.now() - 3_600_000 })
    const c = new DocStore(store, { instanceId: 'cccc', snapshotRetention: 1 })
    const w = writer(3)
    let n = 0
    for (let round = 0; round < 8; round++) {
      const appends = async () => {
        for (let i = 0; i < 4; i++) await c.appendLog(ref, w.edit(n++))
      }
      await Promise.all([a.compact(ref), b.compact(ref), appends(), b.compact(ref)])
      expect(jsonOf((await a.load(ref)).update), `round ${round}`).toEqual(jsonOf(Y.encodeStateAsUpdate(w.doc)))
    }
    await a.compact(ref)
    await b.compact(ref)
    const finalKeys = await objectKeys(store)
    expect(finalKeys.filter((k) => k.includes('~log/'))).toHaveLength(0)
    expect(jsonOf((await c.load(ref)).update)).toEqual(jsonOf(Y.encodeStateAsUpdate(w.doc)))
  })
})
