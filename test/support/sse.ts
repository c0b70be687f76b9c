/** Reading `GET /v1/events` as a browser's EventSource would (Node 20 has none): fetch, parsed as it arrives. */
export interface SseEvent {
  id?: string
  event: string
  data: Record<string, unknown>
  at: number
}

export interface SseStream {
  events: SseEvent[]
  comments: string[]
  close(): void
}

export function subscribeSse(url: string, options: { token?: string; lastEventId?: string } = {}): SseStream {
  const events: SseEvent[] = []
  const comments: string[] = []
  const abort = new AbortController()
  const headers: Record<string, string> = {}
  if (options.token) headers.authorization = `Bearer ${options.token}`
  if (options.lastEventId) headers['last-event-id'] = options.lastEventId
  void (async () => {
    const res = await fetch(url, { headers, signal: abort.signal })
    const decoder = new TextDecoder()
    let buffer = ''
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true })
      let end: number
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const fields = new Map<string, string>()
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) comments.push(line.slice(1).trim())
          else if (line.includes(': ')) fields.set(line.slice(0, line.indexOf(': ')), line.slice(line.indexOf(': ') + 2))
        }
        if (fields.has('event')) events.push({ id: fields.get('id'), event: fields.get('event')!, data: JSON.parse(fields.get('data') ?? '{}'), at: Date.now() })
      }
    }
  })().catch(() => {})
  return { events, comments, close: () => abort.abort() }
}
