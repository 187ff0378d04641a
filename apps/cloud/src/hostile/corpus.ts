/** What a hostile corpus counts, per category: cases tried, refused (or neutralized), 5xx answers, forgeries accepted. */
export interface Tally {
  tried: number;
  refused: number;
  serverErrors: number;
  accepted: number;
}

export class CorpusTally {
  readonly byCategory = new Map<string, Tally>();
  readonly failures: string[] = [];

  /** Records one case: `refused` when the answer was the expected coded refusal (or the neutralized result). */
  record(category: string, name: string, o: { refused: boolean; status: number; detail: string }): void {
    const t = this.byCategory.get(category) ?? { tried: 0, refused: 0, serverErrors: 0, accepted: 0 };
    t.tried += 1;
    if (o.refused) t.refused += 1;
    else {
      t.accepted += 1;
      this.failures.push(`${category} / ${name}: ${o.detail}`);
    }
    if (o.status >= 500) t.serverErrors += 1;
    this.byCategory.set(category, t);
  }

  get totals(): Tally {
    const sum = { tried: 0, refused: 0, serverErrors: 0, accepted: 0 };
    for (const t of this.byCategory.values()) {
      sum.tried += t.tried;
      sum.refused += t.refused;
      sum.serverErrors += t.serverErrors;
      sum.accepted += t.accepted;
    }
    return sum;
  }

  /** A table for the test log (and the report). */
  render(title: string): string {
    const rows = [...this.byCategory.entries()].map(([c, t]) => `${c.padEnd(22)} ${String(t.tried).padStart(5)} ${String(t.refused).padStart(7)} ${String(t.serverErrors).padStart(4)} ${String(t.accepted).padStart(9)}`);
    const t = this.totals;
    return [
      `${title}`,
      `${'category'.padEnd(22)} ${'tried'.padStart(5)} ${'refused'.padStart(7)} ${'5xx'.padStart(4)} ${'accepted'.padStart(9)}`,
      ...rows,
      `${'total'.padEnd(22)} ${String(t.tried).padStart(5)} ${String(t.refused).padStart(7)} ${String(t.serverErrors).padStart(4)} ${String(t.accepted).padStart(9)}`,
    ].join('\n');
  }
}
