/** What one run records, and the markdown table printed from it. */
import type { Metric } from './scenario.js'
import type { ServerId, ServerSpec } from './servers.js'

export type Outcome =
  | { status: 'ok'; figures: Record<string, number>; details: Record<string, unknown>; note?: string; seconds: number; loadgenCpuMs: number }
  | { status: 'n/a'; reason: string }
  | { status: 'error'; error: string; seconds: number; loadgenCpuMs: number }

export interface ScenarioReport {
  id: string
  title: string
  metrics: Metric[]
  outcomes: Partial<Record<ServerId, Outcome>>
}

class Footnotes {
  private readonly texts: string[] = []

  /** The marker for `text`, numbering each distinct text once. */
  mark(text: string): string {
    let i = this.texts.indexOf(text)
    if (i < 0) i = this.texts.push(text) - 1
    return `[${i + 1}]`
  }

  lines(): string[] {
    return this.texts.map((t, i) => `[${i + 1}] ${t}`)
  }
}

function formatNumber(value: number, digits: number): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

function ratio(ours: number | undefined, theirs: number | undefined): string {
  if (ours === undefined || theirs === undefined || !(ours >= 0) || !(theirs > 0)) return '–'
  return `${(ours / theirs).toFixed(2)}×`
}

function figure(outcome: Outcome | undefined, key: string): number | undefined {
  return outcome?.status === 'ok' ? outcome.figures[key] : undefined
}

function firstLine(text: string): string {
  const line = text.split('\n')[0] ?? ''
  return line.length > 240 ? `${line.slice(0, 240)}…` : line
}

export function renderTable(reports: ScenarioReport[], servers: ServerSpec[], standingNotes: string[]): string {
  const notes = new Footnotes()
  const ours = servers.filter((s) => s.id.startsWith('yrelay'))
  const others = servers.filter((s) => !s.id.startsWith('yrelay'))
  const ratioColumns = ours.length === 0 ? [] : others.map((o) =>
    ours.length === 1 ? `${ours[0]!.label} ÷ ${o.label}` : `yrelay ÷ ${o.label} (${ours.map((s) => s.label.replace(/^yrelay \((.*)\)$/, '$1')).join(' / ')})`,
  )
  const header = ['Scenario', ...servers.map((s) => s.label), ...ratioColumns]
  const rows: string[][] = []
  for (const report of reports) {
    for (const metric of report.metrics) {
      const cells = servers.map((s) => {
        const outcome = report.outcomes[s.id]
        if (!outcome) return '–'
        if (outcome.status === 'n/a') return `n/a ${notes.mark(outcome.reason)}`
        if (outcome.status === 'error') return `error ${notes.mark(`${s.label}, ${report.title}: ${firstLine(outcome.error)}`)}`
        const value = outcome.figures[metric.key]
        const text = value === undefined || Number.isNaN(value) ? '–' : formatNumber(value, metric.digits)
        return outcome.note ? `${text} ${notes.mark(outcome.note)}` : text
      })
      const ratios = ours.length > 0
        ? others.map((o) => ours.map((y) => ratio(figure(report.outcomes[y.id], metric.key), figure(report.outcomes[o.id], metric.key))).join(' / '))
        : []
      rows.push([metric.label, ...cells, ...ratios])
    }
  }
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`
  return [
    line(header),
    line(header.map((_, i) => (i === 0 ? '---' : '---:'))),
    ...rows.map(line),
    '',
    ...standingNotes,
    ...notes.lines(),
  ].join('\n')
}
