/** What every admin command works on: the configured store (S3_* or DATA_DIR, as serve uses). */
import type { Config } from '../config.js'
import { DocStore } from '../docs/doc-store.js'
import { randomInstanceId } from '../docs/seq.js'
import { createStore } from '../store/create-store.js'
import type { InstrumentedStore } from '../store/instrumented-store.js'

export interface AdminContext {
  store: InstrumentedStore
  docs: DocStore
  tenancy: Config['TENANCY']
  /** Results, one line each, on stdout. */
  out(line: string): void
}

/**
 * Opens the store. Only commands that write (import) create a missing bucket or directory;
 * the others fail at once with the store's reason, instead of creating an empty one.
 */
export async function openAdmin(config: Config, options: { create: boolean }): Promise<AdminContext & { close(): Promise<void> }> {
  const store = createStore(config)
  if (options.create) await store.init()
  else await store.ping()
  return {
    store,
    docs: new DocStore(store, { instanceId: config.INSTANCE_ID ?? randomInstanceId(), snapshotRetention: config.SNAPSHOT_RETENTION }),
    tenancy: config.TENANCY,
    out: (line) => process.stdout.write(`${line}\n`),
    close: () => store.close(),
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let v = n / 1024
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${v.toFixed(1)} ${units[i]}`
}
