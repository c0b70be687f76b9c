/**
 * The demo page at /demo/ (and / redirecting there): shared notes built on the client SDK. Its
 * script and service worker are bundled from client/demo with esbuild on first request and kept
 * in memory, so the relay needs no build step.
 */
import { readFile } from 'node:fs/promises'
import type { ServerResponse } from 'node:http'
import { fileURLToPath } from 'node:url'
import { PACKAGE_ROOT } from '../package-root.js'

const DEMO_DIR = fileURLToPath(new URL('client/demo/', PACKAGE_ROOT))

interface Asset {
  type: string
  body: Buffer
}

const bundles = new Map<string, Promise<Asset>>()

function once(path: string, load: () => Promise<Asset>): Promise<Asset> {
  let asset = bundles.get(path)
  if (!asset) {
    asset = load()
    // A failed build is tried again on the next request (the file may have been fixed).
    asset.catch(() => bundles.delete(path))
    bundles.set(path, asset)
  }
  return asset
}

async function bundle(entry: string, format: 'esm' | 'iife'): Promise<Asset> {
  // Loaded with the first request for the demo: a relay nobody opens the demo on never needs it.
  const { build } = await import('esbuild')
  const result = await build({
    entryPoints: [DEMO_DIR + entry],
    bundle: true,
    format,
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
    logLevel: 'silent',
  })
  return { type: 'text/javascript; charset=utf-8', body: Buffer.from(result.outputFiles[0]!.contents) }
}

const ASSETS: Record<string, () => Promise<Asset>> = {
  '/demo/': async () => ({ type: 'text/html; charset=utf-8', body: await readFile(DEMO_DIR + 'index.html') }),
  '/demo/app.js': () => bundle('app.ts', 'esm'),
  '/demo/sw.js': () => bundle('sw.ts', 'iife'),
}

/** Answers a GET for the demo; returns false for any other path. */
export async function serveDemo(path: string, query: string, res: ServerResponse): Promise<boolean> {
  if (path === '/' || path === '/demo') {
    res.writeHead(302, { location: `/demo/${query ? `?${query}` : ''}` }).end()
    return true
  }
  const load = ASSETS[path]
  if (!load) return false
  const asset = await once(path, load)
  res.writeHead(200, { 'content-type': asset.type, 'content-length': asset.body.byteLength, 'cache-control': 'no-cache' })
  res.end(asset.body)
  return true
}
