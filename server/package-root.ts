/**
 * The package's root directory, for files the relay serves from the source tree (the admin
 * dashboard, the demo page's sources). This module runs as server/package-root.ts under tsx
 * and as dist/server/package-root.js once built (`npm run build`).
 */
const here = new URL('.', import.meta.url)

export const PACKAGE_ROOT = new URL(here.pathname.endsWith('/dist/server/') ? '../../' : '../', here)
