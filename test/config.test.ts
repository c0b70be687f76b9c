/** Configuration: defaults for the quick start, one clear line per bad variable, and the CLI's exit codes. */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../server/config.js'
import { ROOT } from './support/relay.js'

const run = promisify(execFile)

describe('configuration', () => {
  it('defaults to the directory store in ./data on 127.0.0.1:8787', () => {
    const config = loadConfig({})
    expect(config).toMatchObject({ PORT: 8787, HOST: '127.0.0.1', DATA_DIR: './data', FLUSH_MS: 1000, MAX_MESSAGE_BYTES: 10 * 1024 * 1024 })
    expect(config.S3_BUCKET).toBeUndefined()
  })

  it('names every bad variable on its own line', () => {
    let err: unknown
    try {
      loadConfig({ PORT: 'eighty', FLUSH_MS: '-1', S3_ENDPOINT: 'not a url', S3_BUCKET: 'Bad_Bucket', LOG_LEVEL: 'loud' })
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ConfigError)
    const problems = (err as ConfigError).problems
    expect(problems).toHaveLength(5)
    for (const name of ['PORT', 'FLUSH_MS', 'S3_ENDPOINT', 'S3_BUCKET', 'LOG_LEVEL']) {
      expect(problems.some((p) => p.startsWith(`${name}: `))).toBe(true)
    }
    expect(problems.find((p) => p.startsWith('PORT'))).toMatch(/e\.g\. PORT=8787/)
  })

  it('refuses half an S3 configuration', () => {
    expect(() => loadConfig({ S3_ENDPOINT: 'http://127.0.0.1:9000' })).toThrow(/S3_BUCKET: required/)
    expect(() => loadConfig({ S3_BUCKET: 'yrelay', S3_ACCESS_KEY_ID: 'k' })).toThrow(/set both or neither/)
  })

  it('needs no token on loopback without a key, and requires one everywhere else', () => {
    expect(loadConfig({}).AUTH_MODE).toBe('none')
    expect(loadConfig({ AUTH_JWT_SECRET: 'x'.repeat(32) }).AUTH_MODE).toBe('jwt')
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(/AUTH_JWT_SECRET: tokens are required/)
    expect(() => loadConfig({ HOST: '0.0.0.0', AUTH_MODE: 'none' })).toThrow(/AUTH_MODE: none on HOST=0\.0\.0\.0/)
    expect(loadConfig({ HOST: '0.0.0.0', AUTH_MODE: 'none', AUTH_ALLOW_NONE: 'true' }).AUTH_MODE).toBe('none')
    expect(() => loadConfig({ AUTH_MODE: 'jwt' })).toThrow(/no key is set/)
    expect(() => loadConfig({ AUTH_JWT_SECRET: 'short' })).toThrow(/AUTH_JWT_SECRET: must be at least 32/)
    expect(() => loadConfig({ AUTH_JWT_SECRET: 'x'.repeat(32), AUTH_JWKS_URL: 'https://example.com/jwks.json' })).toThrow(/set only one way/)
    expect(() => loadConfig({ AUTH_PUBLIC_KEY: 'ssh-rsa AAAA' })).toThrow(/AUTH_PUBLIC_KEY: must be a PEM public key/)
    expect(() => loadConfig({ TENANCY: 'many' })).toThrow(/TENANCY/)
  })

  it('the CLI exits 2 with one line per problem and no stack trace', async () => {
    const err = (await run(process.execPath, ['--import', 'tsx', 'server/cli.ts', 'serve', '--port', 'x', '--flush-ms', '0'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH },
    }).catch((e: unknown) => e)) as { code: number; stderr: string }
    expect(err.code).toBe(2)
    expect(err.stderr).toMatch(/^ {2}PORT: /m)
    expect(err.stderr).toMatch(/^ {2}FLUSH_MS: /m)
    expect(err.stderr).not.toMatch(/\n\s+at /)
    const unknown = (await run(process.execPath, ['--import', 'tsx', 'server/cli.ts', '--bogus', '1'], { cwd: ROOT }).catch((e: unknown) => e)) as {
      code: number
      stderr: string
    }
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/--bogus: unknown flag/)
  })
})
