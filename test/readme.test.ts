/** The README's configuration table and the config schema must tell the same story. */
import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { configSchema } from '../server/config.js'
import { ROOT } from './support/relay.js'

describe('README', () => {
  it('documents every configuration variable with its flag and default, and nothing else', async () => {
    const readme = await readFile(`${ROOT}README.md`, 'utf8')
    const rows = [...readme.matchAll(/^\| `([A-Z0-9_]+)` \| `(--[a-z0-9-]+)` \| (.+?) \| (.+?) \|$/gm)]
    const documented = new Map(rows.map((r) => [r[1]!, { flag: r[2]!, def: r[3]!, meaning: r[4]! }]))
    expect([...documented.keys()].sort()).toEqual(Object.keys(configSchema.shape).sort())
    for (const [name, field] of Object.entries(configSchema.shape)) {
      const row = documented.get(name)!
      expect(row.flag).toBe(`--${name.toLowerCase().replaceAll('_', '-')}`)
      const parsed = field.safeParse(undefined)
      const def = parsed.success && parsed.data !== undefined ? `\`${String(parsed.data)}\`` : '—'
      expect(row.def, name).toBe(def)
      expect(row.meaning, name).toBe(field.description)
    }
  })

  it('gives the quick start and test commands', async () => {
    const readme = await readFile(`${ROOT}README.md`, 'utf8')
    expect(readme).toContain('npm install\nnpm start')
    expect(readme).toContain('npm test')
  })
})
