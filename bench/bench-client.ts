/**
 * What a scenario drives, whatever the server's dialect: a client with its own Y.Doc whose
 * local changes are sent, and a callback for every update another client made.
 */
import * as Y from 'yjs'
import { clientOfKey, firstStructKey, nextStructKey } from './update-id.js'

export abstract class BenchClient {
  /** This client's document; every local change to it is sent to the server. */
  readonly doc = new Y.Doc()
  /** Called with the key (see update-id.ts) of each update made by another client. */
  onRemoteUpdate: ((key: string) => void) | null = null
  abstract readonly synced: Promise<void>

  /** Inserts `text` into the shared text `field` (one update, one new item) and returns its key. */
  insert(field: string, index: number, text: string): string {
    const key = nextStructKey(this.doc)
    const type = this.doc.getText(field)
    type.insert(Math.min(index, type.length), text)
    return key
  }

  /** Applies an update made elsewhere (a prebuilt document) as if typed here: it is sent. */
  applyLocal(update: Uint8Array): void {
    Y.applyUpdate(this.doc, update)
  }

  /** The text of `field` in the state the server sent at sync (see each client for how it is kept). */
  abstract syncedText(field: string): string

  abstract close(): Promise<void>

  protected remoteUpdate(update: Uint8Array): void {
    if (!this.onRemoteUpdate) return
    const key = firstStructKey(update)
    // The reference server echoes a client's own updates back to it.
    if (key !== null && clientOfKey(key) !== this.doc.clientID) this.onRemoteUpdate(key)
  }
}
