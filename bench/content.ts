/**
 * Deterministic document content, so every server receives updates of the same shape:
 * a seeded generator, random text, and a prebuilt text document of a given size.
 */
import * as Y from 'yjs'

export type Random = () => number

/** mulberry32: small, fast, seeded. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz      '

export function randomText(random: Random, length: number): string {
  let s = ''
  for (let i = 0; i < length; i++) s += ALPHABET[Math.floor(random() * ALPHABET.length)]
  return s
}

export interface PrebuiltDocument {
  update: Uint8Array
  /** The client id of the doc that wrote it: the id received copies of its update carry. */
  clientID: number
  field: string
  length: number
}

const CHUNK_CHARS = 1024
const built = new Map<number, PrebuiltDocument>()

/**
 * A text document of about `kb` KiB written as 1 KiB pastes at random places, so it holds
 * thousands of items rather than one string. Built once per size and shared by all servers.
 */
export function prebuiltDocument(kb: number): PrebuiltDocument {
  let doc = built.get(kb)
  if (!doc) {
    const ydoc = new Y.Doc()
    const text = ydoc.getText('body')
    const random = seededRandom(kb)
    while (text.length < kb * 1024) text.insert(Math.floor(random() * (text.length + 1)), randomText(random, CHUNK_CHARS))
    doc = { update: Y.encodeStateAsUpdate(ydoc), clientID: ydoc.clientID, field: 'body', length: text.length }
    built.set(kb, doc)
  }
  return doc
}
