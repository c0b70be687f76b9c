/** Hocuspocus as its own process: in memory (no extensions), quiet. Prints a ready line. */
import { Server } from '@hocuspocus/server'

const port = Number(process.env.PORT)
const server = new Server({ port, address: '127.0.0.1', quiet: true, stopOnSignals: true })
await server.listen()
process.stdout.write(`hocuspocus listening on ${port}\n`)
