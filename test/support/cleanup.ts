/** Per-test teardown: what a test starts is stopped after it, in reverse order, pass or fail. */
import { afterEach } from 'vitest'
import { connectClient, type TestClient } from './clients.js'

export function testCleanup() {
  const pending: (() => unknown)[] = []
  afterEach(async () => {
    for (const fn of pending.splice(0).reverse()) await fn()
  })
  return {
    defer(fn: () => unknown): void {
      pending.push(fn)
    },
    /** A y-websocket client destroyed after the test. */
    client(url: string, room: string, options?: Parameters<typeof connectClient>[2]): TestClient {
      const c = connectClient(url, room, options)
      pending.push(() => c.destroy())
      return c
    },
  }
}
