/**
 * Checks an incoming Yjs update before it is forwarded or stored. Decoding alone is not
 * enough: an update can decode cleanly yet name, as an item's left or right neighbour or
 * parent, an operation of its own author that comes later than the item itself. Every Y.Doc
 * that applies such an update throws (Yjs looks that operation up before it exists), so one
 * such frame would make the document unloadable for every client and stop its compaction.
 * Authors' clocks only grow, so a real update never does this. The checks need no state of
 * the document: they catch an update that is broken in itself, not one that contradicts
 * what the document already holds (which Yjs may still fail to apply).
 */
import * as Y from 'yjs'
import { ErrorCode, YrelayError } from '../../shared/errors.js'

const CHECK_DOC_GUID = 'yrelay-update-check'

type Ref = { client: number; clock: number } | null

/** An item may name only operations its author made before it. */
function notEarlier(ref: Ref, client: number, clock: number): boolean {
  return ref !== null && ref.client === client && ref.clock >= clock
}

function bad(why: string, cause?: unknown): never {
  throw new YrelayError(ErrorCode.BAD_MESSAGE, `malformed Yjs update: ${why}`, { cause })
}

/** Throws BAD_MESSAGE unless the update decodes and every item refers only backwards in its author's history. */
export function checkUpdate(update: Uint8Array): void {
  let decoded: ReturnType<typeof Y.decodeUpdate>
  try {
    decoded = Y.decodeUpdate(update)
  } catch (err) {
    bad('it does not decode', err)
  }
  const { structs, ds } = decoded
  // Yjs cannot re-encode an empty deletion range, which it does for deletions it keeps
  // pending; past 2^53 clock arithmetic rounds and ranges collapse to nothing.
  for (const [client, ranges] of ds.clients) {
    for (const r of ranges) {
      if (!(r.len > 0) || !Number.isSafeInteger(r.clock + r.len)) bad(`deletion range ${client}:${r.clock}+${r.len} is empty or beyond 2^53`)
    }
  }
  // What this update says each of its items is, per author in clock order: a parent named
  // here must be a shared type. A lone struct (a keystroke) can name no other, so it needs none.
  const items = structs.length > 1 ? new Map<number, { clock: number; end: number; isType: boolean }[]>() : null
  let worthApplying = false
  for (const struct of structs) {
    const { client, clock } = struct.id
    if (!Number.isSafeInteger(clock + struct.length)) bad(`clock of ${client}:${clock} is beyond 2^53`)
    if (clock === 0 || struct.length === 0) worthApplying = true
    if (!(struct instanceof Y.Item)) continue
    if (notEarlier(struct.origin, client, clock)) bad(`left origin of ${client}:${clock} is not earlier than the item`)
    if (notEarlier(struct.rightOrigin, client, clock)) bad(`right origin of ${client}:${clock} is not earlier than the item`)
    const parent = struct.parent
    if (parent instanceof Y.ID) {
      if (notEarlier(parent, client, clock)) bad(`parent of ${client}:${clock} is not earlier than the item`)
      const named = items && find(items.get(parent.client), parent.clock)
      if (named && !named.isType) bad(`parent of ${client}:${clock} is not a shared type`)
    }
    if (!items) continue
    let list = items.get(client)
    if (!list) items.set(client, (list = []))
    list.push({ clock, end: clock + struct.length, isType: struct.content instanceof Y.ContentType })
  }
  // Whatever the checks above miss inside the update itself shows when a Y.Doc applies it.
  // An empty Y.Doc integrates an author's operations only from their clock 0 on: anything
  // later waits as pending without being looked at, and applying it would only re-encode it
  // (ten times the cost of decoding). So only updates carrying some author's first operations
  // (a new client's first edit, a full state) are applied: that is where the check can fail;
  // and those with an empty struct, which no client makes and whose re-encoding can fail.
  if (!worthApplying) return
  // A fixed guid: the default is a fresh UUID, 31 calls into crypto.
  try {
    const doc = new Y.Doc({ gc: false, guid: CHECK_DOC_GUID })
    Y.applyUpdate(doc, update)
    doc.destroy()
  } catch (err) {
    bad('it cannot be applied', err)
  }
}

function find<T extends { clock: number; end: number }>(list: T[] | undefined, clock: number): T | undefined {
  if (!list) return undefined
  let lo = 0
  let hi = list.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    const it = list[mid]!
    if (clock < it.clock) hi = mid - 1
    else if (clock >= it.end) lo = mid + 1
    else return it
  }
  return undefined
}
