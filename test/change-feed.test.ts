/**
 * The change feed's bookkeeping with another relay's events (what Redis delivers in
 * test/events.cluster.test.ts): a resume replays only what this relay followed without a gap.
 */
import { describe, expect, it } from 'vitest'
import { sleep } from './support/clients.js'
import { ChangeFeed, type ChangeEvent, type FeedShare, type Subscriber } from '../server/events/change-feed.js'

/** Other relays, in process: hands events and gaps to whoever follows a scope. */
class OtherRelays implements FeedShare {
  readonly published: ChangeEvent[] = []
  readonly followers = new Map<string, Parameters<FeedShare['follow']>[1]>()
  publish(event: ChangeEvent): void {
    this.published.push(event)
  }
  follow(scope: string, handlers: Parameters<FeedShare['follow']>[1]): () => void {
    this.followers.set(scope, handlers)
    return () => this.followers.delete(scope)
  }
  changed(scope: string, name: string): void {
    this.followers.get(scope)?.event({ type: 'doc.changed', scope, name, updatedAt: new Date().toISOString() })
  }
}

function recorder(): Subscriber & { got: string[]; ids: string[] } {
  const got: string[] = []
  const ids: string[] = []
  return {
    got,
    ids,
    event: (id, e) => {
      ids.push(id)
      got.push(`${e.type} ${'name' in e ? e.name : e.key}`)
    },
    reset: (id) => {
      ids.push(id)
      got.push('reset')
    },
    heartbeat: () => {},
  }
}

describe('change feed with other relays', () => {
  it('follows a scope while it has subscribers, shares local events, and resumes only across what it followed', async () => {
    const others = new OtherRelays()
    const feed = new ChangeFeed({ windowSize: 100, heartbeatMs: 60_000, share: others, followLingerMs: 30 })
    expect(others.followers.size).toBe(0)
    const first = recorder()
    const stop = feed.subscribe(['teams/t1/'], first)
    others.changed('teams/t1/', 'teams/t1/a')
    feed.publish({ type: 'doc.changed', scope: 'teams/t1/', name: 'teams/t1/b', updatedAt: 'now' })
    expect(first.got).toEqual(['doc.changed teams/t1/a', 'doc.changed teams/t1/b'])
    expect(others.published.map((e) => e.type === 'doc.changed' && e.name)).toEqual(['teams/t1/b'])

    // Dropped briefly: still followed, so the resume replays the other relay's event.
    stop()
    const lastId = first.ids.at(-1)!
    others.changed('teams/t1/', 'teams/t1/c')
    const back = recorder()
    const stopBack = feed.subscribe(['teams/t1/'], back, lastId)
    expect(back.got).toEqual(['doc.changed teams/t1/c'])

    // A gap in what Redis delivered: subscribers reset, and ids from before it cannot resume.
    others.followers.get('teams/t1/')!.gap()
    expect(back.got.at(-1)).toBe('reset')
    const afterGap = back.ids.at(-1)!
    stopBack()
    const beforeGap = recorder()
    feed.subscribe(['teams/t1/'], beforeGap, lastId)
    expect(beforeGap.got).toEqual(['reset'])
    const fromGap = recorder()
    feed.subscribe(['teams/t1/'], fromGap, afterGap)
    expect(fromGap.got).toEqual([])
    feed.close()
    expect(others.followers.size).toBe(0)
  })

  it('stops following after the linger, and then a resume from before gets reset', async () => {
    const others = new OtherRelays()
    const feed = new ChangeFeed({ windowSize: 100, heartbeatMs: 60_000, share: others, followLingerMs: 30 })
    const sub = recorder()
    const stop = feed.subscribe(['users/u1/'], sub)
    feed.publish({ type: 'doc.changed', scope: 'users/u1/', name: 'users/u1/x', updatedAt: 'now' })
    stop()
    await sleep(80)
    expect(others.followers.has('users/u1/')).toBe(false)
    // Events of other relays in between were never received here.
    others.changed('users/u1/', 'users/u1/lost')
    const back = recorder()
    feed.subscribe(['users/u1/'], back, sub.ids.at(-1))
    expect(back.got).toEqual(['reset'])
    expect(others.followers.has('users/u1/')).toBe(true)
    feed.close()
  })
})
