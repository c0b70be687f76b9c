/** Which documents an admin command's `<doc|prefix>` argument names. */
import { documentObjects, listDocuments, type DocObjects } from '../docs/doc-index.js'
import type { AdminContext } from './context.js'

/** "/" names every document in the store (an empty argument is easy to pass by mistake). */
export const ALL = '/'

export async function resolveTargets(ctx: AdminContext, arg: string): Promise<{ exact: boolean; docs: DocObjects[] }> {
  if (arg !== ALL) {
    const doc = await documentObjects(ctx.store, arg, ctx.tenancy)
    if (doc) return { exact: true, docs: [doc] }
  }
  const docs: DocObjects[] = []
  for await (const doc of listDocuments(ctx.store, arg === ALL ? '' : arg, ctx.tenancy)) docs.push(doc)
  return { exact: false, docs }
}
