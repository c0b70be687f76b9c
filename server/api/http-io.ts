/** Reading requests and writing JSON answers for the HTTP API: `{error: {code, message, …}}` on failure. */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { z } from 'zod'
import { ErrorCode, YrelayError, httpStatusFor } from '../../shared/errors.js'

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' })
  res.end(text)
}

export function sendError(res: ServerResponse, status: number, code: string, message: string, details?: Record<string, unknown>): void {
  sendJson(res, status, { error: { code, message, ...details } })
}

/** A typed error as its HTTP status and JSON body. */
export function sendYrelayError(res: ServerResponse, err: YrelayError): void {
  sendError(res, httpStatusFor(err.code), err.code, err.message, err.details)
}

export function badRequest(message: string): YrelayError {
  return new YrelayError(ErrorCode.BAD_REQUEST, message)
}

/** The whole body, refusing (413) past `maxBytes` without reading the rest. */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'])
  if (declared > maxBytes) throw new YrelayError(ErrorCode.MESSAGE_TOO_LARGE, `request body is ${declared} bytes; at most ${maxBytes} accepted`)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.byteLength
    if (size > maxBytes) throw new YrelayError(ErrorCode.MESSAGE_TOO_LARGE, `request body is larger than ${maxBytes} bytes`)
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}

const MAX_JSON_BYTES = 1024 * 1024

/** The body as JSON checked against a schema; a 400 names the first bad field. */
export async function readJson<S extends z.ZodType>(req: IncomingMessage, schema: S): Promise<z.infer<S>> {
  const type = req.headers['content-type'] ?? ''
  if (!type.startsWith('application/json')) throw badRequest(`send the body as application/json (got ${JSON.stringify(type.slice(0, 60)) || 'no content-type'})`)
  const text = (await readBody(req, MAX_JSON_BYTES)).toString('utf8')
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw badRequest('body is not valid JSON')
  }
  return parseInput(schema, value)
}

/** Validates input (a body, a query), naming the first bad field in the 400. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    throw badRequest(`${issue.path.join('.') || 'body'}: ${issue.message}`)
  }
  return parsed.data
}

/** Query parameters as a plain object (the last value wins), for schema validation. */
export function queryObject(params: URLSearchParams): Record<string, string> {
  return Object.fromEntries(params)
}
