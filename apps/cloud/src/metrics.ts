/** A small Prometheus text-format registry: counters and gauges with labels. */
type Labels = Record<string, string>;

interface Series {
  help: string;
  type: 'counter' | 'gauge';
  values: Map<string, { labels: Labels; value: number }>;
  collect?: () => number;
}

interface Histogram {
  help: string;
  /** Upper bounds, ascending; an implicit +Inf bucket follows. */
  bounds: readonly number[];
  /** Per bucket (not cumulative), the last one is +Inf. */
  counts: number[];
  sum: number;
  count: number;
}

export class Metrics {
  private readonly series = new Map<string, Series>();
  private readonly histograms = new Map<string, Histogram>();

  counter(name: string, help: string): (labels?: Labels, by?: number) => void {
    const s = this.define(name, help, 'counter');
    return (labels = {}, by = 1) => {
      const key = labelKey(labels);
      const entry = s.values.get(key);
      if (entry) entry.value += by;
      else s.values.set(key, { labels, value: by });
    };
  }

  /** A gauge whose value is read when /metrics is scraped. */
  gauge(name: string, help: string, collect: () => number): void {
    this.define(name, help, 'gauge').collect = collect;
  }

  /** A histogram with fixed bucket bounds (ascending); observing is O(log buckets) and allocates nothing. */
  histogram(name: string, help: string, bounds: readonly number[]): (value: number) => void {
    let h = this.histograms.get(name);
    if (!h) {
      h = { help, bounds: [...bounds].sort((a, b) => a - b), counts: new Array<number>(bounds.length + 1).fill(0), sum: 0, count: 0 };
      this.histograms.set(name, h);
    }
    const hist = h;
    return (value) => {
      let lo = 0;
      let hi = hist.bounds.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (value <= (hist.bounds[mid] ?? Infinity)) hi = mid;
        else lo = mid + 1;
      }
      hist.counts[lo] = (hist.counts[lo] ?? 0) + 1;
      hist.sum += value;
      hist.count += 1;
    };
  }

  render(): string {
    const lines: string[] = [];
    for (const [name, s] of this.series) {
      lines.push(`# HELP ${name} ${s.help}`, `# TYPE ${name} ${s.type}`);
      if (s.collect) lines.push(`${name} ${s.collect()}`);
      for (const { labels, value } of s.values.values()) lines.push(`${name}${formatLabels(labels)} ${value}`);
    }
    for (const [name, h] of this.histograms) {
      lines.push(`# HELP ${name} ${h.help}`, `# TYPE ${name} histogram`);
      let cumulative = 0;
      h.bounds.forEach((bound, i) => {
        cumulative += h.counts[i] ?? 0;
        lines.push(`${name}_bucket{le="${bound}"} ${cumulative}`);
      });
      lines.push(`${name}_bucket{le="+Inf"} ${h.count}`, `${name}_sum ${h.sum}`, `${name}_count ${h.count}`);
    }
    return `${lines.join('\n')}\n`;
  }

  private define(name: string, help: string, type: Series['type']): Series {
    const existing = this.series.get(name);
    if (existing) return existing;
    const created: Series = { help, type, values: new Map() };
    this.series.set(name, created);
    return created;
  }
}

function labelKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

function formatLabels(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return '';
  const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  return `{${keys.map((k) => `${k}="${escape(labels[k] ?? '')}"`).join(',')}}`;
}
