/**
 * Stable error codes and WebSocket close codes shared by the relay and its clients.
 * Codes never change meaning once released; messages are for people and may be reworded.
 */

export const ErrorCode = {
  BAD_DOC_NAME: 'bad_doc_name',
  BAD_REQUEST: 'bad_request',
  BAD_MESSAGE: 'bad_message',
  MESSAGE_TOO_LARGE: 'message_too_large',
  UNAUTHORIZED: 'unauthorized',
  FORBIDDEN: 'forbidden',
  DOC_DELETED: 'doc_deleted',
  PROTOCOL_UNSUPPORTED: 'protocol_unsupported',
  RATE_LIMITED: 'rate_limited',
  QUOTA_EXCEEDED: 'quota_exceeded',
  TOO_MANY_CONNECTIONS: 'too_many_connections',
  BLOB_DELETED: 'blob_deleted',
  BLOB_MISMATCH: 'blob_mismatch',
  SIGNED_URL_INVALID: 'signed_url_invalid',
  SIGNED_URL_EXPIRED: 'signed_url_expired',
  DRAINING: 'relay_draining',
  /** Client side: the app's token function failed or returned nothing usable. */
  TOKEN_UNAVAILABLE: 'token_unavailable',
  /** Client side: the relay could not be reached (every configured URL was tried). */
  RELAY_UNREACHABLE: 'relay_unreachable',
  /** Client side: storage refused or never answered a blob upload, after retries. */
  BLOB_UPLOAD_FAILED: 'blob_upload_failed',
  MEMBERSHIP_UNAVAILABLE: 'membership_unavailable',
  STORAGE_UNAVAILABLE: 'storage_unavailable',
  /** The relay cannot reach the other relays (Redis): it serves its own clients only. */
  CLUSTER_UNAVAILABLE: 'cluster_unavailable',
  /** The relay holds MAX_PENDING_BYTES of accepted writes that storage has not taken yet. */
  WRITE_BACKLOG_FULL: 'write_backlog_full',
  STORE_BAD_KEY: 'store_bad_key',
  STORE_KEY_CONFLICT: 'store_key_conflict',
  STORE_PRECONDITION_FAILED: 'store_precondition_failed',
  CONFIG_INVALID: 'config_invalid',
  NOT_FOUND: 'not_found',
  INTERNAL: 'internal_error',
} as const

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode]

/** WebSocket close codes in the 4000 range mirror HTTP statuses (DESIGN.md, wire protocol). */
export const CloseCode = {
  BAD_DOC_NAME: 4400,
  BAD_MESSAGE: 4400,
  UNAUTHORIZED: 4401,
  FORBIDDEN: 4403,
  DOC_DELETED: 4404,
  MESSAGE_TOO_LARGE: 4413,
  PROTOCOL_UNSUPPORTED: 4426,
  /** 45xx: the client backs off and reconnects (DESIGN.md says 4429; issue 4 moved it so clients retry). */
  RATE_LIMITED: 4529,
  STORAGE_UNAVAILABLE: 4503,
  /** 45xx so clients keep their change and retry; mirrors HTTP 507 Insufficient Storage. */
  WRITE_BACKLOG_FULL: 4507,
  /** A service the relay depends on (the app's membership endpoint) did not answer. */
  DEPENDENCY_UNAVAILABLE: 4503,
  DRAINING: 4503,
} as const

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode]

const CLOSE_CODE_OF: Partial<Record<ErrorCode, CloseCode>> = {
  [ErrorCode.BAD_DOC_NAME]: CloseCode.BAD_DOC_NAME,
  [ErrorCode.BAD_REQUEST]: CloseCode.BAD_MESSAGE,
  [ErrorCode.BAD_MESSAGE]: CloseCode.BAD_MESSAGE,
  [ErrorCode.MESSAGE_TOO_LARGE]: CloseCode.MESSAGE_TOO_LARGE,
  [ErrorCode.UNAUTHORIZED]: CloseCode.UNAUTHORIZED,
  [ErrorCode.FORBIDDEN]: CloseCode.FORBIDDEN,
  [ErrorCode.DOC_DELETED]: CloseCode.DOC_DELETED,
  [ErrorCode.PROTOCOL_UNSUPPORTED]: CloseCode.PROTOCOL_UNSUPPORTED,
  [ErrorCode.RATE_LIMITED]: CloseCode.RATE_LIMITED,
  [ErrorCode.TOO_MANY_CONNECTIONS]: CloseCode.RATE_LIMITED,
  [ErrorCode.DRAINING]: CloseCode.DRAINING,
  [ErrorCode.WRITE_BACKLOG_FULL]: CloseCode.WRITE_BACKLOG_FULL,
  [ErrorCode.MEMBERSHIP_UNAVAILABLE]: CloseCode.DEPENDENCY_UNAVAILABLE,
}

/** The WebSocket close code for an error code; anything unexpected is a transient relay condition. */
export function closeCodeFor(code: ErrorCode): CloseCode {
  return CLOSE_CODE_OF[code] ?? CloseCode.STORAGE_UNAVAILABLE
}

/** What a client does when the relay closes its connection with a code (README, wire protocol). */
export type CloseAction = 'refresh-token' | 'deleted' | 'stop' | 'retry'

/**
 * 44xx are decisions reconnecting cannot change, except 4401 (fetch a fresh token) and 4404 (the
 * document was deleted: forget it); everything else, 45xx included, is transient.
 */
export function closeActionFor(closeCode: number): CloseAction {
  if (closeCode === CloseCode.UNAUTHORIZED) return 'refresh-token'
  if (closeCode === CloseCode.DOC_DELETED) return 'deleted'
  if (closeCode >= 4400 && closeCode < 4500) return 'stop'
  return 'retry'
}

const ERROR_CODE_OF_CLOSE: Record<number, ErrorCode> = {
  [CloseCode.BAD_MESSAGE]: ErrorCode.BAD_REQUEST,
  [CloseCode.UNAUTHORIZED]: ErrorCode.UNAUTHORIZED,
  [CloseCode.FORBIDDEN]: ErrorCode.FORBIDDEN,
  [CloseCode.DOC_DELETED]: ErrorCode.DOC_DELETED,
  [CloseCode.MESSAGE_TOO_LARGE]: ErrorCode.MESSAGE_TOO_LARGE,
  [CloseCode.PROTOCOL_UNSUPPORTED]: ErrorCode.PROTOCOL_UNSUPPORTED,
  [CloseCode.RATE_LIMITED]: ErrorCode.RATE_LIMITED,
  [CloseCode.DRAINING]: ErrorCode.DRAINING,
  [CloseCode.WRITE_BACKLOG_FULL]: ErrorCode.WRITE_BACKLOG_FULL,
}

/** The error code a close code stands for, for clients that did not receive the *error* extension. */
export function errorCodeForClose(closeCode: number): ErrorCode {
  return ERROR_CODE_OF_CLOSE[closeCode] ?? ErrorCode.INTERNAL
}

const HTTP_STATUS_OF: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.BAD_DOC_NAME]: 400,
  [ErrorCode.BAD_REQUEST]: 400,
  [ErrorCode.BAD_MESSAGE]: 400,
  [ErrorCode.BLOB_MISMATCH]: 400,
  [ErrorCode.UNAUTHORIZED]: 401,
  [ErrorCode.FORBIDDEN]: 403,
  [ErrorCode.SIGNED_URL_INVALID]: 403,
  [ErrorCode.SIGNED_URL_EXPIRED]: 403,
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.DOC_DELETED]: 404,
  [ErrorCode.BLOB_DELETED]: 404,
  [ErrorCode.STORE_KEY_CONFLICT]: 409,
  [ErrorCode.STORE_PRECONDITION_FAILED]: 412,
  [ErrorCode.MESSAGE_TOO_LARGE]: 413,
  [ErrorCode.PROTOCOL_UNSUPPORTED]: 426,
  [ErrorCode.RATE_LIMITED]: 429,
  [ErrorCode.TOO_MANY_CONNECTIONS]: 429,
  [ErrorCode.QUOTA_EXCEEDED]: 403,
  [ErrorCode.DRAINING]: 503,
  [ErrorCode.MEMBERSHIP_UNAVAILABLE]: 503,
  [ErrorCode.STORAGE_UNAVAILABLE]: 503,
}

/** The HTTP status for an error code; anything unexpected is the relay's fault. */
export function httpStatusFor(code: ErrorCode): number {
  return HTTP_STATUS_OF[code] ?? 500
}

/** An error that carries a stable code, for logs, HTTP bodies and extension messages alike. */
export class YrelayError extends Error {
  readonly code: ErrorCode
  /** Facts a client can act on (a tombstone's time and author, a limit and its usage), sent with the code. */
  readonly details?: Record<string, unknown>
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options)
    this.name = 'YrelayError'
    this.code = code
    this.details = options?.details
  }
}

export function isYrelayError(err: unknown, code?: ErrorCode): err is YrelayError {
  return err instanceof YrelayError && (code === undefined || err.code === code)
}
