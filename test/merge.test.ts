import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { mergeMany } from '../server/docs/merge.js'

describe('mergeMany', () => {
  it('merges thousands of updates from several clients to the same content as Y.mergeUpdates', () => {
    const seed = Number(process.env.TEST_SEED ?? Date.now() % 100000)
    console.log(`mergeMany seed ${seed}`)
    let state = seed
    const rand = (n: number) => {
      state = (state * 1103515245 + 12345) % 2147483648
      return state % n
    }
    const docs = [1, 2, 3].map((id) => {
      const d = new Y.Doc()
      d.clientID = id
      return d
    })
    const updates: Uint8Array[] = []
    docs.forEach((d) => d.on('update', (u: Uint8Array) => updates.push(u)))
    for (let i = 0; i < 3000; i++) {
      const d = docs[rand(3)]!
      const t = d.getText('t')
      if (t.length > 5 && rand(4) === 0) t.delete(rand(t.length - 1), 1)
      else t.insert(rand(t.length + 1), String.fromCharCode(97 + rand(26)))
      d.getMap('m').set(`k${rand(20)}`, i)
      if (rand(10) === 0) {
        const [a, b] = [docs[rand(3)]!, docs[rand(3)]!]
        Y.applyUpdate(a, Y.encodeStateAsUpdate(b, Y.encodeStateVector(a)))
      }
    }
    const json = (u: Uint8Array) => {
      const d = new Y.Doc()
      Y.applyUpdate(d, u)
      return { t: d.getText('t').toString(), m: d.getMap('m').toJSON() }
    }
    const ours = mergeMany(updates)
    expect(json(ours)).toEqual(json(Y.mergeUpdates(updates)))
    expect(Y.encodeStateVectorFromUpdate(ours)).toEqual(Y.encodeStateVectorFromUpdate(Y.mergeUpdates(updates)))
    expect(mergeMany([updates[0]!])).toBe(updates[0])
  })
})
