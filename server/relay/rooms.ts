/**
 * The open rooms: each document loads once however many clients join at the same moment,
 * and leaves memory when idle (no peers, nothing pending, last write succeeded).
 */
import type { ClusterRoom, RoomLink } from '../cluster/link.js'
import type { DocRef } from '../docs/layout.js'
import type { Logger } from '../logger.js'
import type { Metrics } from '../metrics.js'
import { Room, type RoomOptions, type RoomServices } from './room.js'

export class Rooms {
  private readonly rooms = new Map<string, Room>()
  private readonly closing = new Set<Promise<void>>()
  /** Rooms loaded since start, for tests and metrics. */
  loads = 0

  constructor(
    private readonly services: RoomServices,
    private readonly options: RoomOptions,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    /** Links each room to the other relays serving it (absent on a lone relay). */
    private readonly linkTo?: (room: ClusterRoom) => RoomLink,
  ) {}

  get size(): number {
    return this.rooms.size
  }

  get(name: string): Room | undefined {
    return this.rooms.get(name)
  }

  open(name: string, ref: DocRef): Room {
    let room = this.rooms.get(name)
    if (!room) {
      room = new Room(name, ref, this.services, this.options, this.logger, this.metrics, (r) => this.unload(r), this.linkTo)
      this.rooms.set(name, room)
      this.loads++
    }
    return room
  }

  private unload(room: Room): void {
    if (this.rooms.get(room.name) !== room) return
    this.rooms.delete(room.name)
    room.close()
    const settled = room.settle().finally(() => this.closing.delete(settled))
    this.closing.add(settled)
    this.logger.debug({ doc: room.name }, 'room unloaded')
  }

  all(): Room[] {
    return [...this.rooms.values()]
  }

  /** Flushes every room; resolves with the rooms whose writes failed. */
  async flushAll(): Promise<{ room: Room; err: unknown }[]> {
    // Rooms unload while they flush: pair each result with the room it came from.
    const rooms = this.all()
    const results = await Promise.allSettled(rooms.map((r) => r.flushNow()))
    return results.flatMap((r, i) => (r.status === 'rejected' ? [{ room: rooms[i]!, err: r.reason as unknown }] : []))
  }

  /** Waits for background work (compactions) of every room, open or unloaded. */
  async settle(): Promise<void> {
    await Promise.all([...this.all().map((r) => r.settle()), ...this.closing])
  }
}
