/**
 * Every document write passes here before it reaches a room: the rate of one connection, and
 * the plan limits of its scope (message size, document size, documents per scope and per
 * prefix, stored bytes). The checks are O(1) counters, except counting a prefix's documents,
 * which happens only when a write would create a new document.
 */
import { ErrorCode, YrelayError } from '../../shared/errors.js'
import type { DocRef } from '../docs/layout.js'
import type { ScopeLimitSet } from './limits.js'
import { TokenBucket } from './token-bucket.js'
import type { UsageTracker } from './usage.js'

/** What the gate needs to know about the document being written. */
export interface WriteTarget {
  ref: DocRef
  /** Bytes of the document's state (an upper bound: unmerged updates count in full). */
  approxBytes: number
}

export type RefusalKind = 'rate' | 'message_bytes' | 'document_bytes' | 'documents' | 'prefix_documents' | 'stored_bytes' | 'blob_bytes'

export class QuotaError extends YrelayError {
  constructor(
    readonly kind: RefusalKind,
    code: ErrorCode,
    message: string,
    details: Record<string, unknown>,
  ) {
    super(code, message, { details: { limit: kind, ...details } })
  }
}

function exceeded(kind: RefusalKind, what: string, limit: { value: number; source: string }, used: number, advice: string): QuotaError {
  return new QuotaError(
    kind,
    ErrorCode.QUOTA_EXCEEDED,
    `${what}: ${used} of ${limit.value} allowed by ${limit.source}; ${advice}, or raise the limit (your changes are kept on your device)`,
    { value: limit.value, used },
  )
}

export function scopeLabel(scope: string): string {
  return scope === '' ? 'this relay' : scope
}

/** Checks of one connection's writes; it owns the connection's rate buckets. */
export class WriteGate {
  private readonly messages?: TokenBucket
  private readonly bytes?: TokenBucket

  constructor(
    private readonly limits: ScopeLimitSet,
    private readonly usage: UsageTracker,
  ) {
    if (limits.updatesPerSecond) this.messages = new TokenBucket(limits.updatesPerSecond.value)
    if (limits.updateBytesPerSecond) this.bytes = new TokenBucket(limits.updateBytesPerSecond.value)
  }

  /** Throws the refusal for an update of `size` bytes (the room accounts for what it accepts). */
  admit(target: WriteTarget, size: number): void {
    const l = this.limits
    if (this.messages && !this.messages.take(1)) {
      throw new QuotaError('rate', ErrorCode.RATE_LIMITED, `more than ${l.updatesPerSecond!.value} updates per second (${l.updatesPerSecond!.source}); slow down and reconnect`, {
        value: l.updatesPerSecond!.value,
      })
    }
    if (this.bytes && !this.bytes.take(size)) {
      throw new QuotaError('rate', ErrorCode.RATE_LIMITED, `more than ${l.updateBytesPerSecond!.value} update bytes per second (${l.updateBytesPerSecond!.source}); slow down and reconnect`, {
        value: l.updateBytesPerSecond!.value,
      })
    }
    this.check(target, size)
  }

  /** The plan limits alone (no rate): for updates applied through the HTTP API too. */
  check(target: WriteTarget, size: number): void {
    const l = this.limits
    const { scope, path } = target.ref
    const label = scopeLabel(scope)
    if (l.messageBytes && size > l.messageBytes.value) {
      throw exceeded('message_bytes', 'update too large', l.messageBytes, size, 'send smaller changes')
    }
    if (l.documentBytes && target.approxBytes + size > l.documentBytes.value) {
      throw exceeded('document_bytes', `document ${scope}${path} would grow too large`, l.documentBytes, target.approxBytes + size, 'split it into several documents')
    }
    if (!this.usage.known(scope)) return
    if (!this.usage.hasDoc(scope, path)) {
      const summary = this.usage.summary(scope)
      if (l.documents && summary.documents + 1 > l.documents.value) {
        throw exceeded('documents', `document limit reached in ${label}`, l.documents, summary.documents, 'delete a document')
      }
      for (const [prefix, limit] of l.prefixDocuments) {
        if (!path.startsWith(prefix)) continue
        const n = this.usage.documentsUnder(scope, prefix)
        if (n + 1 > limit.value) throw exceeded('prefix_documents', `limit of documents under ${prefix} reached in ${label}`, limit, n, `delete one under ${prefix}`)
      }
    }
    if (l.storedBytes) {
      const used = this.usage.summary(scope).bytes
      if (used + size > l.storedBytes.value) throw exceeded('stored_bytes', `storage limit of ${label} reached`, l.storedBytes, used, 'delete documents or blobs')
    }
  }
}
