/**
 * The reference y-websocket server (@y/websocket-server) as its own process, set up the way
 * its own server.js does: in memory, the room is the URL path. Prints a ready line.
 */
import { setupWSConnection } from '@y/websocket-server/utils'
import { createServer } from 'node:http'
import { WebSocketServer } from 'ws'

const port = Number(process.env.PORT)
const wss = new WebSocketServer({ noServer: true })
const http = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('okay'))
wss.on('connection', setupWSConnection)
http.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req)))
http.listen(port, '127.0.0.1', () => process.stdout.write(`reference listening on ${port}\n`))
process.on('SIGTERM', () => process.exit(0))
