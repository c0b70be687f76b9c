/**
 * Documents over HTTP: list a scope's documents, read one (JSON or a binary Yjs update), apply
 * an update from a server (live clients see it at once), delete one (leaving a tombstone) and
 * restore a deleted one. Access is decided by the same policy as the WebSocket.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { z } from 'zod'
import { ErrorCode, YrelayError } from '../../shared/errors.js'
import type { Access, Principal } from '../auth/access.js'
import { deleteDocObjects } from '../docs/doc-deletion.js'
import { contentJson } from '../docs/content-json.js'
import { docPathOfKey, docsPrefix, refName } from '../docs/layout.js'
import { needsUsage } from '../quota/limits.js'
import { WriteGate } from '../quota/write-gate.js'
import { docDeletedError } from '../relay/room.js'
import { MAX_LIST_PAGE } from '../store/object-store.js'
import { principalOf, type ApiContext } from './api-context.js'
import { badRequest, parseInput, queryObject, readBody, sendJson } from './http-io.js'

export const DOCS_PATH = '/v1/docs'

const listQuery = z.object({
  scope: z.string().default(''),
  cursor: z.string().max(600).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_LIST_PAGE).default(100),
})

function methodNotAllowed(method: string | undefined, path: string): YrelayError {
  return badRequest(`${method} is not supported on ${path}`)
}

export async function handleDocs(req: IncomingMessage, res: ServerResponse, url: URL, ctx: ApiContext): Promise<void> {
  const principal = await principalOf(req, url, ctx)
  const rest = url.pathname.slice(DOCS_PATH.length)
  if (rest === '' || rest === '/') {
    if (req.method !== 'GET') throw methodNotAllowed(req.method, url.pathname)
    await listDocs(res, url, ctx, principal)
    return
  }
  const path = rest.slice(1)
  switch (req.method) {
    case 'GET':
    case 'HEAD':
      return readDoc(res, url, ctx, ctx.access.authorize(principal, path))
    case 'DELETE':
      return deleteDoc(res, ctx, writable(ctx.access.authorize(principal, path)), principal)
    case 'POST': {
      const slash = path.lastIndexOf('/')
      const action = path.slice(slash + 1)
      const name = path.slice(0, Math.max(0, slash))
      if (action === 'update') return applyUpdate(req, res, ctx, writable(ctx.access.authorize(principal, name)), principal)
      if (action === 'restore') return restoreDoc(res, ctx, writable(ctx.access.authorize(principal, name)))
      throw badRequest(`POST ${DOCS_PATH}/<document>/update or /restore; "${action.slice(0, 40)}" is not an action`)
    }
    default:
      throw methodNotAllowed(req.method, url.pathname)
  }
}

function writable(access: Access): Access {
  if (!access.canWrite) throw new YrelayError(ErrorCode.FORBIDDEN, `read-only access: your role on ${refName(access.ref)} is ${access.role}`)
  return access
}

async function listDocs(res: ServerResponse, url: URL, ctx: ApiContext, principal: Principal): Promise<void> {
  const q = parseInput(listQuery, queryObject(url.searchParams))
  const { scope } = ctx.access.authorizeScope(principal, q.scope)
  const prefix = docsPrefix(scope)
  // A document's objects are contiguous in key order, and "<path>/~~" sorts after all of them.
  let after = q.cursor === undefined ? undefined : `${prefix}${q.cursor}/~~`
  const items: { name: string; path: string; size: number; updatedAt: string }[] = []
  type Doc = { path: string; size: number; updated: number }
  let current = null as Doc | null
  const finish = (doc: Doc | null) => {
    if (doc) items.push({ name: scope + doc.path, path: doc.path, size: doc.size, updatedAt: new Date(doc.updated).toISOString() })
  }
  for (;;) {
    const page = await ctx.store.list(prefix, { cursor: after })
    for (const o of page.items) {
      const path = docPathOfKey(scope, o.key)
      if (path === null) continue
      if (current?.path !== path) {
        finish(current)
        if (items.length === q.limit) return sendJson(res, 200, { items, cursor: items.at(-1)!.path })
        current = { path, size: 0, updated: 0 }
      }
      current.size += o.size
      current.updated = Math.max(current.updated, o.lastModified.getTime())
    }
    if (!page.cursor) break
    after = page.cursor
  }
  finish(current)
  sendJson(res, 200, { items })
}

/** The stored or live state of a document; 404 when it was deleted or never written. */
async function stateOf(ctx: ApiContext, access: Access): Promise<Uint8Array> {
  const name = refName(access.ref)
  const tombstone = await ctx.tombstones.ofDoc(access.ref)
  if (tombstone) throw docDeletedError(name, tombstone)
  const room = ctx.rooms.get(name)
  if (room?.state === 'ready') return room.currentState()
  const loaded = await ctx.docs.load(access.ref)
  if (loaded.contains.length === 0) throw new YrelayError(ErrorCode.NOT_FOUND, `document ${name} has no stored content`)
  return loaded.update
}

async function readDoc(res: ServerResponse, url: URL, ctx: ApiContext, access: Access): Promise<void> {
  const state = await stateOf(ctx, access)
  if (url.searchParams.get('format') === 'update') {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': state.byteLength, 'cache-control': 'no-store' })
    res.end(state)
    return
  }
  sendJson(res, 200, { name: refName(access.ref), content: contentJson(state) })
}

async function applyUpdate(req: IncomingMessage, res: ServerResponse, ctx: ApiContext, access: Access, principal: Principal): Promise<void> {
  if (req.headers['content-type'] !== 'application/octet-stream') throw badRequest('send the Yjs update as application/octet-stream')
  const update = await readBody(req, ctx.config.MAX_MESSAGE_BYTES)
  const limits = ctx.limits.for(principal, access.ref.scope)
  if (needsUsage(limits)) await ctx.usage.ensure(access.ref.scope)
  const room = ctx.rooms.open(refName(access.ref), access.ref)
  room.hold()
  try {
    await room.ready
    new WriteGate(limits, ctx.usage).check(room, update.byteLength)
    room.applyUpdate(new Uint8Array(update.buffer, update.byteOffset, update.byteLength))
    await room.flushNow()
  } finally {
    room.release()
  }
  sendJson(res, 200, { applied: true })
}

async function deleteDoc(res: ServerResponse, ctx: ApiContext, access: Access, principal: Principal): Promise<void> {
  const { ref } = access
  const name = refName(ref)
  const existing = await ctx.tombstones.ofDoc(ref)
  if (existing) throw docDeletedError(name, existing)
  // The tombstone first: from here on no relay loads the document, and no sync re-creates it.
  const tombstone = await ctx.tombstones.markDoc(ref, principal.sub)
  ctx.cluster?.announceDeleted(name, ref, tombstone)
  await ctx.rooms.get(name)?.delete(tombstone)
  const objects = await deleteDocObjects(ctx.store, ref)
  ctx.usage.docDeleted(ref.scope, ref.path)
  ctx.feed.publish({ type: 'doc.deleted', scope: ref.scope, name, deletedAt: tombstone.deletedAt, deletedBy: tombstone.deletedBy })
  ctx.logger.info({ doc: name, objects, by: principal.sub }, 'document deleted')
  sendJson(res, 200, { name, deletedAt: tombstone.deletedAt, deletedBy: tombstone.deletedBy })
}

async function restoreDoc(res: ServerResponse, ctx: ApiContext, access: Access): Promise<void> {
  const { ref } = access
  const name = refName(ref)
  if (!(await ctx.tombstones.ofDoc(ref))) throw new YrelayError(ErrorCode.NOT_FOUND, `document ${name} is not deleted; nothing to restore`)
  // Whatever a relay wrote after the deletion started goes too: a restored document starts empty.
  await deleteDocObjects(ctx.store, ref)
  await ctx.tombstones.clearDoc(ref)
  ctx.logger.info({ doc: name }, 'document restored')
  sendJson(res, 200, { name, restored: true })
}
