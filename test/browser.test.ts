/**
 * The demo page in headless Debian Chromium (playwright-core): live editing and presence
 * between two browser contexts, offline edits that survive a reload from IndexedDB, and the
 * saved indicator. Screenshots go to test-results/ for a person to look at.
 */
import { mkdir } from 'node:fs/promises'
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

describe('demo page in Chromium', () => {
  it('two contexts edit live and see each other’s text and presence', async () => {
    const base = await demoRelay()
    const doc = `e2e/live-${Date.now()}`
    const ada = await openDemo(await context(), base, doc, 'Ada')
    const bob = await openDemo(await context(), base, doc, 'Bob')
    await Promise.all([online(ada), online(bob)])
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
    const base = await demoRelay()
    const doc = `e2e/offline-${Date.now()}`
    const adaCtx = await context()
    const ada = await openDemo(adaCtx, base, doc, 'Ada')
    const bob = await openDemo(await context(), base, doc, 'Bob')
    await Promise.all([online(ada), online(bob)])
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
})
