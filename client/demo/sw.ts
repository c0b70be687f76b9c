/**
 * The demo's service worker: the page and its script come from the network when it answers and
 * from the cache when it does not, so a reload while offline still shows the local replica.
 */
// A module, so its names stay out of the global scope the other files type-check in.
export {}

const CACHE = 'yrelay-demo-v1'
const SHELL = ['/demo/', '/demo/app.js']

interface ExtendableEvent extends Event {
  waitUntil(promise: Promise<unknown>): void
}
interface FetchEvent extends ExtendableEvent {
  request: Request
  respondWith(response: Promise<Response>): void
}
interface WorkerScope {
  addEventListener(type: 'install' | 'activate', listener: (event: ExtendableEvent) => void): void
  addEventListener(type: 'fetch', listener: (event: FetchEvent) => void): void
  skipWaiting(): Promise<void>
  clients: { claim(): Promise<void> }
}

const worker = self as unknown as WorkerScope

worker.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => worker.skipWaiting()))
})

worker.addEventListener('activate', (event) => {
  event.waitUntil(worker.clients.claim())
})

worker.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url)
  if (event.request.method !== 'GET' || url.origin !== location.origin || !url.pathname.startsWith('/demo/')) return
  const key = url.pathname === '/demo/' ? '/demo/' : url.pathname
  event.respondWith(
    fetch(event.request)
      .then(async (response) => {
        if (response.ok && SHELL.includes(key)) {
          const cache = await caches.open(CACHE)
          await cache.put(key, response.clone())
        }
        return response
      })
      .catch(async () => (await caches.match(key)) ?? Response.error()),
  )
})
