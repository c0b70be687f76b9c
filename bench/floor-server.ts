/**
 * The floor: a `ws` server that forwards every frame to the other clients of its room as
 * received, and answers the handshake with an empty document. No Yjs, no validation, no
 * storage, so its figures are what any relay built on `ws` and Node pays before doing its job.
 */
import { createServer } from 'node:http'
import { WebSocketServer, type WebSocket } from 'ws'
import { MessageType, SyncType, encodeSyncStep1, encodeSyncStep2 } from '../shared/protocol.js'

const EMPTY_STATE_VECTOR = encodeSyncStep1(new Uint8Array([0]))
const EMPTY_DOCUMENT = encodeSyncStep2(new Uint8Array([0, 0]))

const rooms = new Map<string, Set<WebSocket>>()
const port = Number(process.env.PORT)
const wss = new WebSocketServer({ noServer: true })
const http = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('okay'))
http.on('upgrade', (req, socket, head) =>
  wss.handleUpgrade(req, socket, head, (ws) => {
    const name = req.url ?? '/'
    let room = rooms.get(name)
    if (!room) rooms.set(name, (room = new Set()))
    room.add(ws)
    ws.send(EMPTY_STATE_VECTOR)
    ws.on('message', (frame: Buffer) => {
      // A client's sync step 1 asks for the document: it is empty here. Everything else is forwarded.
      if (frame[0] === MessageType.SYNC && frame[1] === SyncType.STEP1) ws.send(EMPTY_DOCUMENT)
      else for (const peer of room) if (peer !== ws) peer.send(frame)
    })
    ws.on('close', () => {
      room.delete(ws)
      if (room.size === 0) rooms.delete(name)
    })
  }),
)
http.listen(port, '127.0.0.1', () => process.stdout.write(`floor listening on ${port}\n`))
process.on('SIGTERM', () => process.exit(0))
