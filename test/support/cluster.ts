/** Several relay processes sharing one bucket (and Redis), and what the bucket holds. */
import { randomBytes } from 'node:crypto'
import * as Y from 'yjs'
import { DocStore } from '../../server/docs/doc-store.js'
import { singleTenantRef } from '../../server/docs/layout.js'
import { s3Store } from './stores.js'

/** A Redis channel prefix of its own, so tests sharing the run's redis-server do not meet. */
export function uniquePrefix(): string {
  return `t${randomBytes(4).toString('hex')}:`
}

/** The text 't' of a document as the bucket holds it now. */
export async function storedText(bucket: string, name: string): Promise<string> {
  const store = s3Store(bucket)
  try {
    const loaded = await new DocStore(store, { instanceId: 'reader', snapshotRetention: 2 }).load(singleTenantRef(name))
    const doc = new Y.Doc()
    Y.applyUpdate(doc, loaded.update)
    return doc.getText('t').toString()
  } finally {
    await store.close()
  }
}

export async function readyz(port: number): Promise<{ status: number; body: { error?: { code: string; message: string } } }> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`)
  return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string } } }
}
