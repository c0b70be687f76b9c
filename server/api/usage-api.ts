/** `GET /v1/usage`: bytes and documents per scope of the caller, with the limits that apply to them. */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { ErrorCode, YrelayError } from '../../shared/errors.js'
import { limitsJson } from '../quota/limits.js'
import { principalOf, type ApiContext } from './api-context.js'
import { sendJson } from './http-io.js'

export const USAGE_PATH = '/v1/usage'

export async function handleUsage(req: IncomingMessage, res: ServerResponse, url: URL, ctx: ApiContext): Promise<void> {
  if (req.method !== 'GET') throw new YrelayError(ErrorCode.BAD_REQUEST, `${req.method} is not supported on ${USAGE_PATH}`)
  const principal = await principalOf(req, url, ctx)
  const wanted = url.searchParams.getAll('scope')
  const scopes = wanted.length > 0 ? wanted.map((s) => ctx.access.authorizeScope(principal, s)) : ctx.access.scopesOf(principal)
  const out = await Promise.all(
    scopes.map(async ({ scope, role }) => {
      await ctx.usage.ensure(scope)
      const { bytes, documentBytes, blobBytes, documents, blobs } = ctx.usage.summary(scope)
      return { scope, role, bytes, documentBytes, blobBytes, documents, blobs, limits: limitsJson(ctx.limits.for(principal, scope)) }
    }),
  )
  sendJson(res, 200, { scopes: out })
}
