/**
 * Clients that record every edit they make, so a test can check exactly that none was lost:
 * each edit inserts a unique token into the array `a` and sets it as a key of the map `m`.
 */
import * as Y from 'yjs'
import type { TestClient } from './clients.js'
import { int, type Rng } from './seed.js'

export interface Editor {
  client: TestClient
  name: string
  typed: string[]
}

export function edit(rng: Rng, editor: Editor, padding = ''): void {
  const token = `${editor.name}-${editor.typed.length}`
  const array = editor.client.doc.getArray<string>('a')
  editor.client.doc.transact(() => {
    array.insert(int(rng, 0, array.length), [token])
    editor.client.doc.getMap('m').set(token, padding || editor.typed.length)
  })
  editor.typed.push(token)
}

export function holdsAll(doc: Y.Doc, tokens: string[]): boolean {
  const array = new Set(doc.getArray<string>('a').toArray())
  const map = doc.getMap('m')
  return tokens.every((t) => array.has(t) && map.has(t))
}
