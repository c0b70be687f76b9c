import { describe, expect, it } from 'vitest'
import { checkDocName } from '../shared/doc-name.js'

describe('document name grammar', () => {
  it.each(['notes/today', 'users/u1/profiles/p1', 'teams/t7/spaces/roadmap', 'a', 'A-b_c.d', 'x'.repeat(128), Array(8).fill('s').join('/'), 'a/b..c'])(
    'accepts %s',
    (name) => expect(checkDocName(name)).toEqual({ ok: true, name }),
  )

  it.each([
    ['', /empty/],
    ['.', /start with "."/],
    ['..', /start with "."/],
    ['a/../b', /start with "."/],
    ['.git', /start with "."/],
    ['~snap', /only letters/],
    ['a/~log', /only letters/],
    ['a//b', /empty/],
    ['/a', /empty/],
    ['a/', /empty/],
    ['a\\b', /only letters/],
    ['%2e%2e', /only letters/],
    ['a\0b', /only letters/],
    ['caf\u00e9', /only letters/],
    ['\u0430pple', /only letters/], // Cyrillic a, a look-alike
    ['a b', /only letters/],
    ['x'.repeat(129), /at most 128/],
    [Array(9).fill('s').join('/'), /9 segments; at most 8/],
    [Array(5).fill('y'.repeat(120)).join('/'), /at most 512/],
  ])('refuses %j with a reason', (name, reason) => {
    const check = checkDocName(name)
    expect(check.ok).toBe(false)
    if (!check.ok) expect(check.reason).toMatch(reason)
  })
})
