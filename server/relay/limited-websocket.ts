/**
 * ws closes an over-long message with 1009 from inside its frame parser, before the payload
 * is buffered. The relay's protocol says 4413 with a reason, so this subclass (passed to
 * WebSocketServer as its `WebSocket` class) rewrites that one close.
 */
import { WebSocket } from 'ws'
import { CloseCode } from '../../shared/errors.js'

const WS_MESSAGE_TOO_BIG = 1009

export class LimitedWebSocket extends WebSocket {
  override close(code?: number, data?: string | Buffer): void {
    if (code === WS_MESSAGE_TOO_BIG && data === undefined) {
      super.close(CloseCode.MESSAGE_TOO_LARGE, 'message too large: split the update or raise MAX_MESSAGE_BYTES')
      return
    }
    super.close(code, data)
  }
}
