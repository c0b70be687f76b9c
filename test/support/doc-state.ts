/** What a document holds, comparable across replicas and storage. */
import * as Y from 'yjs'

export interface DocState {
  /** The shared types every test document uses: text t, map m, array a. */
  json: { t: string; m: unknown; a: unknown }
  /** State vector and delete set: equal exactly when both hold the same operations. */
  snapshot: string
}

export function stateOfDoc(doc: Y.Doc): DocState {
  const fresh = new Y.Doc()
  Y.applyUpdate(fresh, Y.encodeStateAsUpdate(doc))
  return stateOf(fresh)
}

export function stateOfUpdate(update: Uint8Array): DocState {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, update)
  return stateOf(doc)
}

function stateOf(doc: Y.Doc): DocState {
  const state = {
    json: { t: doc.getText('t').toString(), m: doc.getMap('m').toJSON(), a: doc.getArray('a').toJSON() },
    snapshot: Buffer.from(Y.encodeSnapshot(Y.snapshot(doc))).toString('base64'),
  }
  doc.destroy()
  return state
}
