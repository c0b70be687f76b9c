/**
 * Bytes and documents stored per scope. Storage is the source of truth: a scope's usage is
 * computed by listing its `docs/` and `blobs/` prefixes the first time it is needed (so it
 * survives restarts and needs no bookkeeping object that could drift), then kept current by
 * this relay's own writes, compactions and deletes, and listed again every `refreshMs` to pick
 * up what other relays wrote. Accepted-but-unflushed updates and unexpired upload URLs count
 * too, so nobody can overrun a limit by racing the flush or by asking for many URLs at once.
 *
 * With a UsageShare (Redis mode) relays also tell each other what their writes, compactions and
 * deletes changed in a scope, so a relay's figures follow the others' within a moment instead
 * of at its next listing; a gap in what it received makes it list again.
 */
import { z } from 'zod'
import { blobsPrefix, docPathOfKey, docsPrefix, parseBlobKey } from '../docs/layout.js'
import type { Logger } from '../logger.js'
import { listAll, type ObjectStore } from '../store/object-store.js'

interface ScopeUsage {
  /** Stored bytes per document path. */
  docs: Map<string, number>
  /** Stored bytes per blob hash. */
  blobs: Map<string, number>
  /** Sums of the two maps, kept in step so a check costs O(1). */
  docBytes: number
  blobBytes: number
  /** Updates accepted into rooms, not yet written. */
  pendingBytes: number
  /** Upload URLs handed out and not yet expired, by blob hash. */
  reservations: Map<string, { size: number; expiresAt: number }>
  listedAt: number
  listing: Promise<void> | null
  /** Stops following other relays' changes (present with a UsageShare). */
  unfollow?: () => void
}

export interface UsageSummary {
  scope: string
  bytes: number
  documentBytes: number
  blobBytes: number
  documents: number
  blobs: number
}

export const usageChangeSchema = z.discriminatedUnion('kind', [
  /** A document's stored bytes grew (a flush) or changed (a compaction) by delta. */
  z.object({ kind: z.literal('doc'), path: z.string(), delta: z.number().int() }),
  z.object({ kind: z.literal('doc.deleted'), path: z.string() }),
  z.object({ kind: z.literal('blob'), sha256: z.string(), size: z.number().int().nonnegative() }),
  z.object({ kind: z.literal('blob.deleted'), sha256: z.string() }),
])

export type UsageChange = z.infer<typeof usageChangeSchema>

/** Usage changes shared between relays. */
export interface UsageShare {
  publish(scope: string, change: UsageChange): void
  /** Delivers other relays' changes to the scope until the returned function is called. */
  follow(scope: string, handlers: { change(change: UsageChange): void; gap(): void }): () => void
}

export interface UsageOptions {
  /** How old a listing may get before it is redone in the background. */
  refreshMs: number
  logger: Logger
  /** Told whenever this relay changed a scope's stored usage (for the usage webhook). */
  onChange?: (summary: UsageSummary) => void
  share?: UsageShare
}

const MAX_SCOPES = 10_000

export class UsageTracker {
  private readonly scopes = new Map<string, ScopeUsage>()
  /** The scope at the end of `scopes` (used most recently). */
  private lastUsed: string | null = null

  constructor(
    private readonly store: ObjectStore,
    private readonly options: UsageOptions,
  ) {}

  /** The scope's usage, listing storage first if this relay has not yet (or not lately). */
  async ensure(scope: string): Promise<void> {
    const usage = this.entry(scope)
    if (usage.listedAt === 0) {
      await (usage.listing ??= this.list(scope, usage))
    } else if (Date.now() - usage.listedAt > this.options.refreshMs && !usage.listing) {
      usage.listing = this.list(scope, usage)
      usage.listing.catch((err: unknown) => this.options.logger.warn({ scope, err }, 'usage refresh failed; keeping the last figures'))
    }
  }

  /** Whether ensure() has completed for the scope, so the synchronous checks below are exact. */
  known(scope: string): boolean {
    return (this.scopes.get(scope)?.listedAt ?? 0) > 0
  }

  /** The scopes this relay has listed, most recently used first. */
  knownScopes(): string[] {
    return [...this.scopes]
      .filter(([, u]) => u.listedAt > 0)
      .map(([scope]) => scope)
      .reverse()
  }

  private entry(scope: string): ScopeUsage {
    const usage = this.scopes.get(scope)
    if (usage) {
      // Map order is insertion order: re-inserting keeps the least recently used first. Every
      // accepted update lands here, mostly in the scope used last, which needs no move.
      if (scope !== this.lastUsed) {
        this.scopes.delete(scope)
        this.scopes.set(scope, usage)
        this.lastUsed = scope
      }
      return usage
    }
    const created: ScopeUsage = { docs: new Map(), blobs: new Map(), docBytes: 0, blobBytes: 0, pendingBytes: 0, reservations: new Map(), listedAt: 0, listing: null }
    // Followed before the first listing, so nothing written meanwhile falls between the two.
    created.unfollow = this.options.share?.follow(scope, {
      change: (change) => apply(created, change),
      gap: () => {
        created.listing ??= this.list(scope, created)
        created.listing.catch((err: unknown) => this.options.logger.warn({ scope, err }, 'usage relisting after a gap failed; keeping the last figures'))
      },
    })
    this.scopes.set(scope, created)
    this.lastUsed = scope
    if (this.scopes.size > MAX_SCOPES) {
      for (const [name, u] of this.scopes) {
        if (u.pendingBytes === 0 && !u.listing && name !== scope) {
          u.unfollow?.()
          this.scopes.delete(name)
          break
        }
      }
    }
    return created
  }

  private async list(scope: string, usage: ScopeUsage): Promise<void> {
    try {
      const docs = new Map<string, number>()
      for await (const o of listAll(this.store, docsPrefix(scope))) {
        const path = docPathOfKey(scope, o.key)
        if (path !== null) docs.set(path, (docs.get(path) ?? 0) + o.size)
      }
      const blobs = new Map<string, number>()
      for await (const o of listAll(this.store, blobsPrefix(scope))) {
        const blob = parseBlobKey(o.key)
        if (blob && blob.scope === scope) blobs.set(blob.sha256, o.size)
      }
      // Documents created here but not yet flushed are not in the listing; keep counting them.
      for (const [path, bytes] of usage.docs) if (!docs.has(path) && bytes === 0) docs.set(path, 0)
      usage.docs = docs
      usage.blobs = blobs
      usage.docBytes = sum(docs)
      usage.blobBytes = sum(blobs)
      usage.listedAt = Date.now()
    } finally {
      usage.listing = null
    }
  }

  summary(scope: string): UsageSummary {
    const usage = this.entry(scope)
    const now = Date.now()
    let reserved = 0
    for (const [sha, r] of usage.reservations) {
      if (r.expiresAt <= now) usage.reservations.delete(sha)
      else if (!usage.blobs.has(sha)) reserved += r.size
    }
    return {
      scope,
      bytes: usage.docBytes + usage.blobBytes + usage.pendingBytes + reserved,
      documentBytes: usage.docBytes + usage.pendingBytes,
      blobBytes: usage.blobBytes + reserved,
      documents: usage.docs.size,
      blobs: usage.blobs.size,
    }
  }

  hasDoc(scope: string, path: string): boolean {
    return this.entry(scope).docs.has(path)
  }

  documentsUnder(scope: string, prefix: string): number {
    let n = 0
    for (const path of this.entry(scope).docs.keys()) if (path.startsWith(prefix)) n++
    return n
  }

  hasBlob(scope: string, sha256: string): boolean {
    return this.entry(scope).blobs.has(sha256)
  }

  /** An update was accepted into a room: it counts from now on, and so does a new document. */
  accepted(scope: string, path: string, bytes: number): void {
    const usage = this.entry(scope)
    usage.pendingBytes += bytes
    if (!usage.docs.has(path)) usage.docs.set(path, 0)
  }

  /** Accepted updates were written (as `written` bytes, merged) or dropped (written = 0). */
  settled(scope: string, path: string, acceptedBytes: number, written: number): void {
    const usage = this.entry(scope)
    usage.pendingBytes = Math.max(0, usage.pendingBytes - acceptedBytes)
    if (written > 0) this.local(scope, usage, { kind: 'doc', path, delta: written })
    else this.changed(scope)
  }

  compacted(scope: string, path: string, written: number, deleted: number): void {
    this.local(scope, this.entry(scope), { kind: 'doc', path, delta: written - deleted })
  }

  docDeleted(scope: string, path: string): void {
    this.local(scope, this.entry(scope), { kind: 'doc.deleted', path })
  }

  blobReserved(scope: string, sha256: string, size: number, expiresAt: number): void {
    this.entry(scope).reservations.set(sha256, { size, expiresAt })
  }

  blobStored(scope: string, sha256: string, size: number): void {
    this.local(scope, this.entry(scope), { kind: 'blob', sha256, size })
  }

  blobDeleted(scope: string, sha256: string): void {
    this.local(scope, this.entry(scope), { kind: 'blob.deleted', sha256 })
  }

  /** A change this relay made: counted, told to the other relays and to the webhook. */
  private local(scope: string, usage: ScopeUsage, change: UsageChange): void {
    apply(usage, change)
    this.options.share?.publish(scope, change)
    this.changed(scope)
  }

  private changed(scope: string): void {
    this.options.onChange?.(this.summary(scope))
  }
}

function sum(map: Map<string, number>): number {
  let n = 0
  for (const v of map.values()) n += v
  return n
}

function apply(usage: ScopeUsage, change: UsageChange): void {
  switch (change.kind) {
    case 'doc':
      setDoc(usage, change.path, Math.max(0, (usage.docs.get(change.path) ?? 0) + change.delta))
      break
    case 'doc.deleted':
      usage.docBytes -= usage.docs.get(change.path) ?? 0
      usage.docs.delete(change.path)
      break
    case 'blob':
      usage.blobBytes += change.size - (usage.blobs.get(change.sha256) ?? 0)
      usage.blobs.set(change.sha256, change.size)
      usage.reservations.delete(change.sha256)
      break
    case 'blob.deleted':
      usage.blobBytes -= usage.blobs.get(change.sha256) ?? 0
      usage.blobs.delete(change.sha256)
      usage.reservations.delete(change.sha256)
      break
  }
}

function setDoc(usage: ScopeUsage, path: string, bytes: number): void {
  usage.docBytes += bytes - (usage.docs.get(path) ?? 0)
  usage.docs.set(path, bytes)
}
