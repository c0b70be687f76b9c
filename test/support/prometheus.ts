/** Reads a relay's /metrics in the Prometheus text format, for assertions. */

export type Samples = Map<string, number>

/** `name{label="v",...}` → value, labels in the order the relay prints them. */
export function parseMetrics(text: string): Samples {
  const samples: Samples = new Map()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const at = line.lastIndexOf(' ')
    samples.set(line.slice(0, at), Number(line.slice(at + 1)))
  }
  return samples
}

export async function scrape(port: number): Promise<Samples> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`)
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`)
  return parseMetrics(await res.text())
}

/** A sample's value, 0 when the series does not exist yet (a counter never incremented). */
export function value(samples: Samples, series: string): number {
  return samples.get(series) ?? 0
}
