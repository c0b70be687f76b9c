/** The shape every scenario has, and what one run of it on one server returns. */
import type { Sizes } from './options.js'
import type { RunningServer, ServerSpec } from './servers.js'

export interface Metric {
  key: string
  /** Row label in the results table, units included. */
  label: string
  digits: number
}

export interface ScenarioContext {
  server: RunningServer
  sizes: Sizes
  /** The second relay of a `relays: 2` scenario, sharing rooms with `server` over Redis. */
  peer?: RunningServer
  /** A room name unique to this run, scenario and server. */
  room(suffix: number | string): string
}

export interface ScenarioResult {
  /** Values for the table, by metric key; lower is better for all of them. */
  figures: Record<string, number>
  /** Everything else worth keeping in latest.json. */
  details: Record<string, unknown>
  /** A caveat shown as a footnote on this server's figures. */
  note?: string
}

export interface Scenario {
  id: string
  /** 2: run on two processes of the server sharing rooms over Redis (`ctx.peer`). */
  relays?: 2
  title(sizes: Sizes): string
  metrics(sizes: Sizes): Metric[]
  /** Fresh-process runs per server (default 1), combined into medians (see repeat.ts). */
  runs?(sizes: Sizes): number
  /** Why the scenario cannot be driven comparably on this server, or null. */
  notApplicable?(spec: ServerSpec): string | null
  run(ctx: ScenarioContext): Promise<ScenarioResult>
}
