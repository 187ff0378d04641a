import type { PoolDevice } from './types.ts';
import { estimateRtt } from './vivaldi.ts';

/**
 * The exact smallest estimated diameter of any set of devices holding `count` free
 * slots (Infinity when impossible), by branch and bound over subsets. Exponential:
 * meant for checking the tight heuristic on small instances (≈ 30 devices).
 */
export function bruteForceTightDiameter(devices: readonly PoolDevice[], count: number): number {
  const n = devices.length;
  const w = devices.map((d) => Math.min(d.freeSlots, count));
  const rtt = devices.map((a) => devices.map((b) => (a === b ? 0 : estimateRtt(a.coordinate, b.coordinate))));
  const suffix = new Array<number>(n + 1).fill(0);
  for (let i = n - 1; i >= 0; i--) suffix[i] = (suffix[i + 1] ?? 0) + (w[i] ?? 0);
  if ((suffix[0] ?? 0) < count) return Infinity;
  if (w.some((s) => s >= count)) return 0;
  let best = Infinity;
  const chosen: number[] = [];
  const search = (next: number, slots: number, diameter: number): void => {
    if (slots >= count) {
      best = Math.min(best, diameter);
      return;
    }
    for (let v = next; v < n; v++) {
      if (slots + (suffix[v] ?? 0) < count) return;
      const row = rtt[v] ?? [];
      let d = diameter;
      for (const u of chosen) d = Math.max(d, row[u] ?? 0);
      if (d >= best) continue;
      chosen.push(v);
      search(v + 1, slots + (w[v] ?? 0), d);
      chosen.pop();
    }
  };
  search(0, 0, 0);
  return best;
}
