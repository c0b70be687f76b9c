/**
 * The document-name grammar (DESIGN.md, "Documents, names and scopes"), checked before any
 * storage call. One place decides what a name may be, for the relay and for the SDK.
 */

export const MAX_DOC_NAME_LENGTH = 512
export const MAX_SEGMENTS = 8
export const MAX_SEGMENT_LENGTH = 128

const SEGMENT = /^[A-Za-z0-9._-]+$/

/** One path segment of a name; also what ids in tokens must be, since they become key prefixes. */
export function isValidSegment(seg: string): boolean {
  return seg.length > 0 && seg.length <= MAX_SEGMENT_LENGTH && SEGMENT.test(seg) && !seg.startsWith('.')
}

export type DocNameCheck = { ok: true; name: string } | { ok: false; reason: string }

export function checkDocName(name: string): DocNameCheck {
  if (name.length === 0) return { ok: false, reason: 'document name is empty' }
  if (name.length > MAX_DOC_NAME_LENGTH) {
    return { ok: false, reason: `document name is ${name.length} characters; at most ${MAX_DOC_NAME_LENGTH} allowed` }
  }
  const segments = name.split('/')
  if (segments.length > MAX_SEGMENTS) {
    return { ok: false, reason: `document name has ${segments.length} segments; at most ${MAX_SEGMENTS} allowed` }
  }
  for (const [i, seg] of segments.entries()) {
    const where = `segment ${i + 1}`
    if (seg.length === 0) return { ok: false, reason: `${where} is empty (no leading, trailing or double "/")` }
    if (seg.length > MAX_SEGMENT_LENGTH) {
      return { ok: false, reason: `${where} is ${seg.length} characters; at most ${MAX_SEGMENT_LENGTH} allowed` }
    }
    if (!SEGMENT.test(seg)) return { ok: false, reason: `${where} may contain only letters, digits, ".", "_" and "-"` }
    if (seg.startsWith('.')) return { ok: false, reason: `${where} must not start with "."` }
  }
  return { ok: true, name }
}
