/** Requests to the relay's HTTP API with the client's token, relays and error codes. */
import { ErrorCode, YrelayError } from '../shared/errors.js'
import type { RelayUrls } from './relay-urls.js'
import type { TokenSource } from './token-source.js'

/** A refusal from the HTTP API: its stable code and message, the status, and any details it carried. */
export class RelayHttpError extends YrelayError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly status: number,
    override readonly details: Record<string, unknown>,
  ) {
    super(code, message, { details })
    this.name = 'RelayHttpError'
  }
}

export type FetchFunction = typeof globalThis.fetch

export class RelayHttp {
  constructor(
    private readonly relays: RelayUrls,
    private readonly tokens: TokenSource,
    private readonly fetchFn: FetchFunction,
  ) {}

  /** The current relay's HTTP base, to resolve relative URLs it hands out. */
  get baseUrl(): string {
    return this.relays.current.http
  }

  /**
   * Sends a request to the current relay. A relay that cannot be reached is left for the next
   * one (each tried once); a 401 fetches a fresh token and retries once. Non-2xx answers throw
   * a RelayHttpError with the relay's code and message.
   */
  async request(path: string, init: RequestInit = {}): Promise<Response> {
    let token = await this.tokens.get()
    let refreshed = false
    let unreachable = 0
    for (;;) {
      const endpoint = this.relays.current
      const headers = new Headers(init.headers)
      if (token) headers.set('authorization', `Bearer ${token}`)
      let res: Response
      try {
        res = await this.fetchFn(endpoint.http + path, { ...init, headers })
      } catch (err) {
        this.relays.moveOn(endpoint)
        if (++unreachable < this.relays.endpoints.length) continue
        throw new YrelayError(ErrorCode.RELAY_UNREACHABLE, `no relay answered ${path}: ${(err as Error).message}`, { cause: err })
      }
      this.relays.reached(endpoint)
      if (res.status === 401 && !refreshed) {
        refreshed = true
        token = await this.tokens.refresh(token)
        continue
      }
      if (!res.ok) throw await errorFrom(res, path)
      return res
    }
  }

  /** A JSON request (`body` sent as JSON when given) answered with JSON. */
  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const init: RequestInit = { method }
    if (body !== undefined) {
      init.headers = { 'content-type': 'application/json' }
      init.body = JSON.stringify(body)
    }
    const res = await this.request(path, init)
    return (await res.json()) as T
  }
}

async function errorFrom(res: Response, path: string): Promise<RelayHttpError> {
  const text = await res.text().catch(() => '')
  let error: Record<string, unknown> = {}
  try {
    const parsed = JSON.parse(text) as { error?: Record<string, unknown> }
    if (parsed.error && typeof parsed.error === 'object') error = parsed.error
  } catch {
    // Not the relay's JSON (a proxy's error page): the status says enough.
  }
  const { code, message, ...details } = error
  return new RelayHttpError(
    (typeof code === 'string' ? code : ErrorCode.INTERNAL) as ErrorCode,
    typeof message === 'string' ? message : `${path} answered ${res.status} ${res.statusText}`,
    res.status,
    details,
  )
}
