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

/** The recorded edits a document lacks, listed per author in ranges ("c1-4001…4012, c3-17"). */
export function missingEdits(doc: Y.Doc, tokens: string[]): { count: number; list: string } {
  const array = new Set(doc.getArray<string>('a').toArray())
  const map = doc.getMap('m')
  const byAuthor = new Map<string, number[]>()
  let count = 0
  for (const token of tokens) {
    if (array.has(token) && map.has(token)) continue
    count++
    const dash = token.lastIndexOf('-')
    const author = token.slice(0, dash)
    let numbers = byAuthor.get(author)
    if (!numbers) byAuthor.set(author, (numbers = []))
    numbers.push(Number(token.slice(dash + 1)))
  }
  const ranges: string[] = []
  for (const [author, numbers] of [...byAuthor].sort(([a], [b]) => a.localeCompare(b))) {
    numbers.sort((a, b) => a - b)
    for (let i = 0; i < numbers.length; ) {
      let j = i
      while (j + 1 < numbers.length && numbers[j + 1] === numbers[j]! + 1) j++
      ranges.push(i === j ? `${author}-${numbers[i]}` : `${author}-${numbers[i]}…${numbers[j]}`)
      i = j + 1
    }
  }
  return { count, list: ranges.join(', ') }
}
