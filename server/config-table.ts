/**
 * The README's configuration table, rendered from the schema so the two cannot drift:
 * `npm run docs:config` rewrites it, and test/readme.test.ts fails when it is stale.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { configSchema } from './config.js'

export const TABLE_START = '<!-- config-table:start (npm run docs:config) -->'
export const TABLE_END = '<!-- config-table:end -->'

export function renderConfigTable(): string {
  const rows = Object.entries(configSchema.shape).map(([name, field]) => {
    const parsed = field.safeParse(undefined)
    const def = parsed.success && parsed.data !== undefined ? `\`${String(parsed.data)}\`` : '—'
    return `| \`${name}\` | \`--${name.toLowerCase().replaceAll('_', '-')}\` | ${def} | ${field.description} |`
  })
  return ['| Variable | Flag | Default | Meaning |', '|---|---|---|---|', ...rows].join('\n')
}

/** The README with its table section replaced by the current rendering. */
export function withConfigTable(readme: string): string {
  const start = readme.indexOf(TABLE_START)
  const end = readme.indexOf(TABLE_END)
  if (start < 0 || end < start) throw new Error(`README.md lacks the ${TABLE_START} … ${TABLE_END} markers`)
  return `${readme.slice(0, start + TABLE_START.length)}\n${renderConfigTable()}\n${readme.slice(end)}`
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const path = new URL('../README.md', import.meta.url)
  await writeFile(path, withConfigTable(await readFile(path, 'utf8')))
  process.stdout.write('README.md: configuration table updated\n')
}
