/**
 * The demo page in headless Debian Chromium (playwright-core): live editing and presence
 * between two browser contexts, offline edits that survive a reload from IndexedDB, and the
 * saved indicator. Screenshots go to test-results/ for a person to look at.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, readFile } from 'node:fs/promises'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { testCleanup } from './support/cleanup.js'
import { ROOT, startRelay } from './support/relay.js'
import { freshStore } from './support/stores.js'

const cleanup = testCleanup()
const SHOTS = `${ROOT}test-results/`
let browser: Browser

beforeAll(async () => {
  await mkdir(SHOTS, { recursive: true })
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu'],
  })
})

afterAll(async () => {
  await browser?.close()
})

async function demoRelay(flushMs = 200): Promise<string> {
  const relay = await startRelay(await freshStore('directory'), { FLUSH_MS: flushMs })
  cleanup.defer(() => relay.stop())
  return `http://127.0.0.1:${relay.port}`
}

async function context(): Promise<BrowserContext> {
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 700 } })
  cleanup.defer(() => ctx.close())
  return ctx
}

/** Opens the demo on `doc` as `name` and waits until the local replica is on screen. */
async function openDemo(ctx: BrowserContext, base: string, doc: string, name: string): Promise<Page> {
  const page = await ctx.newPage()
  page.on('pageerror', (err) => console.error(`[${name}] page error:`, err))
  await page.goto(`${base}/?doc=${doc}&name=${name}`)
  await page.waitForSelector('body[data-loaded="true"]')
  return page
}

const notes = (page: Page) => page.locator('#notes')
const connection = (page: Page) => page.locator('#connection')
const saved = (page: Page) => page.locator('#saved')

async function online(page: Page): Promise<void> {
  await expectText(connection(page), 'online')
}

async function expectText(locator: ReturnType<Page['locator']>, text: string, timeout = 15_000): Promise<void> {
  await locator.page().waitForFunction(
    ([selector, want]) => document.querySelector(selector!)?.textContent === want,
    [await selectorOf(locator), text] as const,
    { timeout },
  )
}

async function selectorOf(locator: ReturnType<Page['locator']>): Promise<string> {
  return locator.evaluate((el) => `#${el.id}`)
}

async function waitForValue(page: Page, check: (value: string) => boolean, what: string): Promise<string> {
  const deadline = Date.now() + 15_000
  for (;;) {
    const value = await notes(page).inputValue()
    if (check(value)) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; textarea holds ${JSON.stringify(value)}`)
    await page.waitForTimeout(50)
  }
}

/** Ada and Bob, each in a browser context of their own, on one new document of a fresh relay, both online. */
async function adaAndBob(kind: string): Promise<{ adaCtx: BrowserContext; ada: Page; bob: Page }> {
  const base = await demoRelay()
  const doc = `e2e/${kind}-${Date.now()}`
  const adaCtx = await context()
  const ada = await openDemo(adaCtx, base, doc, 'Ada')
  const bob = await openDemo(await context(), base, doc, 'Bob')
  await Promise.all([online(ada), online(bob)])
  return { adaCtx, ada, bob }
}

describe('demo page in Chromium', () => {
  it('two contexts edit live and see each other’s text and presence', async () => {
    const { ada, bob } = await adaAndBob('live')
    await notes(ada).click()
    await notes(ada).pressSequentially('Hello from Ada. ')
    await waitForValue(bob, (v) => v === 'Hello from Ada. ', 'Ada’s text in Bob’s page')
    await notes(bob).click()
    await notes(bob).press('End')
    await notes(bob).pressSequentially('Bob here.')
    await waitForValue(ada, (v) => v === 'Hello from Ada. Bob here.', 'Bob’s text in Ada’s page')
    await expect.poll(() => ada.locator('#people .person').allTextContents()).toEqual(['Ada', 'Bob'])
    await expect.poll(() => bob.locator('#people .person').allTextContents()).toEqual(['Bob', 'Ada'])
    await ada.screenshot({ path: `${SHOTS}demo-live-ada.png` })
    await bob.screenshot({ path: `${SHOTS}demo-live-bob.png` })
  })

  it('the saved indicator goes from saving to saved after an edit', async () => {
    // Flushes every 1.5 s: "saving" stays on screen long enough to be seen.
    const base = await demoRelay(1500)
    const page = await openDemo(await context(), base, `e2e/saved-${Date.now()}`, 'Ada')
    await online(page)
    await expectText(saved(page), 'saved')
    // Record every text the indicator shows from now on.
    await page.evaluate(() => {
      const el = document.getElementById('saved')!
      const log: string[] = [el.textContent ?? '']
      ;(window as unknown as { savedLog: string[] }).savedLog = log
      new MutationObserver(() => log.push(el.textContent ?? '')).observe(el, { childList: true, characterData: true, subtree: true })
    })
    await notes(page).click()
    await notes(page).pressSequentially('abc')
    await page.screenshot({ path: `${SHOTS}demo-saving.png` })
    await expectText(saved(page), 'saved')
    const log = await page.evaluate(() => (window as unknown as { savedLog: string[] }).savedLog)
    const states = log.filter((t, i) => t !== log[i - 1])
    expect(states[0]).toBe('saved')
    expect(states).toContain('saving 3')
    expect(states.at(-1)).toBe('saved')
    expect(await saved(page).getAttribute('data-state')).toBe('saved')
  })

  it('offline edits survive a reload from IndexedDB and converge once back online', async () => {
    const { adaCtx, ada, bob } = await adaAndBob('offline')
    await notes(ada).click()
    await notes(ada).pressSequentially('shared start. ')
    await waitForValue(bob, (v) => v === 'shared start. ', 'initial text at Bob')
    // The service worker has cached the page by now, so it can reload without a network.
    await ada.evaluate(() => navigator.serviceWorker.ready.then(() => undefined))

    await adaCtx.setOffline(true)
    await expectText(connection(ada), 'offline')
    await notes(ada).press('End')
    await notes(ada).pressSequentially('ada offline.')
    await notes(bob).press('End')
    await notes(bob).pressSequentially('bob online.')
    await ada.reload()
    await ada.waitForSelector('body[data-loaded="true"]')
    expect(await notes(ada).inputValue()).toBe('shared start. ada offline.')
    await expectText(connection(ada), 'offline')
    expect(await saved(ada).textContent()).toMatch(/^saving \d+$/)
    await ada.screenshot({ path: `${SHOTS}demo-offline-reloaded.png` })
    // Bob never saw Ada's offline edit.
    expect(await notes(bob).inputValue()).toBe('shared start. bob online.')

    await adaCtx.setOffline(false)
    await online(ada)
    const merged = await waitForValue(ada, (v) => v.includes('ada offline.') && v.includes('bob online.'), 'both edits at Ada')
    await waitForValue(bob, (v) => v === merged, 'Bob converged with Ada')
    await expectText(saved(ada), 'saved')
    await ada.screenshot({ path: `${SHOTS}demo-converged.png` })
  })

  it('uploads an attachment with progress and downloads it back identical', async () => {
    const { adaCtx, ada, bob } = await adaAndBob('blob')
    const bytes = randomBytes(1024 * 1024)
    // Upload at 512 KB/s: two seconds, so the progress bar has steps to show even on a busy machine.
    const cdp = await adaCtx.newCDPSession(ada)
    await cdp.send('Network.enable')
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 512 * 1024 })
    await ada.evaluate(() => {
      const bar = document.getElementById('upload-progress') as HTMLProgressElement
      const log: number[] = []
      ;(window as unknown as { progressLog: number[] }).progressLog = log
      new MutationObserver(() => log.push(bar.value)).observe(bar, { attributes: true, attributeFilter: ['value'] })
    })
    await ada.locator('#file').setInputFiles({ name: 'photo.bin', mimeType: 'application/octet-stream', buffer: bytes })
    await expectText(ada.locator('#upload-state'), 'uploaded', 30_000)
    await ada.screenshot({ path: `${SHOTS}demo-attachment.png` })
    const progress = await ada.evaluate(() => (window as unknown as { progressLog: number[] }).progressLog)
    expect(progress.at(-1)).toBe(1)
    expect(progress.filter((v) => v > 0 && v < 1).length).toBeGreaterThanOrEqual(2)
    expect(progress).toEqual([...progress].sort((a, b) => a - b))

    // Bob sees the attachment through the document and downloads it.
    const link = bob.locator('#files a', { hasText: 'photo.bin' })
    await link.waitFor()
    const [download] = await Promise.all([bob.waitForEvent('download'), link.click()])
    const downloaded = await readFile((await download.path())!)
    expect(downloaded.equals(bytes)).toBe(true)
  })

  it('a document deleted through the API shows as deleted in the other context, with its replica gone', async () => {
    const base = await demoRelay()
    const doc = `e2e/deleted-${Date.now()}`
    const page = await openDemo(await context(), base, doc, 'Ada')
    await online(page)
    await notes(page).click()
    await notes(page).pressSequentially('about to be deleted')
    await expectText(saved(page), 'saved')
    const databases = () => page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name))
    expect(await databases()).toContain(`yrelay:${doc}`)

    const res = await fetch(`${base}/v1/docs/${doc}`, { method: 'DELETE' })
    expect(res.status).toBe(200)
    const banner = page.locator('#banner[data-kind="deleted"]')
    await banner.waitFor({ timeout: 15_000 })
    expect(await banner.textContent()).toMatch(/was deleted/)
    expect(await notes(page).isDisabled()).toBe(true)
    await expect.poll(databases).not.toContain(`yrelay:${doc}`)
    await page.screenshot({ path: `${SHOTS}demo-deleted.png` })

    // Reopened, the page has nothing to upload and the relay still holds a tombstone.
    await page.reload()
    await page.locator('#banner[data-kind="deleted"]').waitFor({ timeout: 15_000 })
    expect(await notes(page).inputValue()).toBe('')
    const after = await fetch(`${base}/v1/docs/${doc}`)
    expect(after.status).toBe(404)
    expect(((await after.json()) as { error: { code: string } }).error.code).toBe('doc_deleted')
  })
})
