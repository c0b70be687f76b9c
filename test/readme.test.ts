/** The README's configuration table and the config schema must tell the same story. */
import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { configSchema } from '../server/config.js'
import { TABLE_END, TABLE_START, renderConfigTable } from '../server/config-table.js'
import { ROOT } from './support/relay.js'

describe('README', () => {
  it('carries the configuration table rendered from the schema (npm run docs:config rewrites it)', async () => {
    const readme = await readFile(`${ROOT}README.md`, 'utf8')
    expect(readme).toContain(`${TABLE_START}\n${renderConfigTable()}\n${TABLE_END}`)
    const rows = [...readme.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((r) => r[1])
    expect(rows.sort()).toEqual(Object.keys(configSchema.shape).sort())
  })

  it('gives the quick start and test commands', async () => {
    const readme = await readFile(`${ROOT}README.md`, 'utf8')
    expect(readme).toContain('npm install\nnpm start')
    expect(readme).toContain('npm test')
  })
})
