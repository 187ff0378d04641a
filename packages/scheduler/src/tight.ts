import type { RandomSource } from '@idlegrid/domain';
import { CandidateGrid } from './candidate-grid.ts';
import { scratchFloat64 } from './scratch.ts';
import type { Pick } from './placement.ts';
import { improve, polish } from './tight-improve.ts';
import { better, TightSolver, type Solution } from './tight-solver.ts';
import type { PoolDevice } from './types.ts';
import { weightedSelectPrefix } from './weighted-select.ts';

/** Effort knobs of the tight heuristic (defaults suit pools up to 100,000 slots). */
export interface TightEffort {
  /** Up to this many candidates, every candidate is a seed and the whole list is the pool. */
  readonly exhaustiveUpTo: number;
  /** Centers sampled at random (large lists). */
  readonly randomCenters: number;
  /** Centers taken from the densest grid cells (large lists). */
  readonly denseCenters: number;
  /** Best-ranked centers whose nearest-first cluster is scored (large lists). */
  readonly nearestCenters: number;
  /** Best-ranked centers grown into full solutions (large lists; fewer when over budget). */
  readonly grownCenters: number;
  /** Best distinct solutions passed to local improvement. */
  readonly improved: number;
  /** Local improvement rounds per solution. */
  readonly improveRounds: number;
  /** Budget in RTT evaluations; past it the search wraps up with what it has. */
  readonly workBudget: number;
  /** Above this many slots, growths are cut off as soon as they cannot beat the best kept solution. */
  readonly pruneAboveSlots: number;
}

/** Default effort. */
export const DEFAULT_TIGHT_EFFORT: TightEffort = {
  exhaustiveUpTo: 96,
  randomCenters: 32,
  denseCenters: 16,
  nearestCenters: 8,
  grownCenters: 2,
  improved: 1,
  improveRounds: 10,
  workBudget: 40_000_000,
  pruneAboveSlots: 512,
};

/** Smallest grid cell, in ms (about a metro area). */
const MIN_CELL_MS = 2;

/** Up to `count` distinct random candidate indices (rejection sampling; O(count) expected). */
function randomCenters(n: number, count: number, random: RandomSource): number[] {
  const want = Math.min(count, n);
  const out = new Set<number>();
  for (let tries = 0; out.size < want && tries < want * 20; tries++) out.add(Math.floor(random() * n));
  return [...out];
}

interface Center {
  readonly center: number;
  /** Radius (estimated RTT from the center) holding k slots. */
  readonly radius: number;
  /** The nearest candidates holding ~2k slots: where growth from this center looks. */
  readonly pool: Int32Array;
}

/** Ranks centers by the radius that holds k slots around them, tightest first. */
function rankCenters(s: TightSolver, grid: CandidateGrid, centers: readonly number[]): Center[] {
  let total = 0;
  for (let v = 0; v < s.n; v++) total += s.w[v] ?? 0;
  const wide = Math.min(total, 2 * s.k + 16);
  const ranked: Center[] = [];
  for (const c of centers) {
    const found = grid.around(c, s.k, wide);
    s.work += found.work;
    ranked.push({ center: c, radius: found.radius, pool: found.pool });
  }
  return ranked.sort((a, b) => a.radius - b.radius || a.center - b.center);
}

/** The candidates of `pool` nearest to `c` that hold k slots (nearest-first cluster). */
function nearestPrefix(s: TightSolver, c: number, pool: Int32Array, dist: Float64Array): number[] {
  for (const v of pool) dist[v] = s.rtt(c, v);
  s.work += pool.length;
  const idx = Int32Array.from(pool);
  const len = weightedSelectPrefix(idx, idx.length, dist, s.w, s.k);
  return Array.from(idx.subarray(0, len));
}

/** The member nearest (by plane distance plus height) to the midpoint of the diameter: a better center. */
function middleOf(s: TightSolver, solution: Solution): number {
  const { endA, endB, members } = solution;
  if (endA < 0 || endB < 0) return members[0] ?? 0;
  const mx = ((s.x[endA] ?? 0) + (s.x[endB] ?? 0)) / 2;
  const my = ((s.y[endA] ?? 0) + (s.y[endB] ?? 0)) / 2;
  let best = members[0] ?? 0;
  let bestKey = Infinity;
  for (const v of members) {
    const dx = (s.x[v] ?? 0) - mx;
    const dy = (s.y[v] ?? 0) - my;
    const key = Math.sqrt(dx * dx + dy * dy) + (s.h[v] ?? 0);
    if (key < bestKey) {
      bestKey = key;
      best = v;
    }
  }
  return best;
}

/** The best few distinct solutions seen so far. */
class Shortlist {
  readonly items: Array<{ solution: Solution; pool: Int32Array }> = [];
  constructor(private readonly size: number) {}

  /** Diameter a new solution must not exceed to get in (Infinity while not full). */
  get limit(): number {
    return this.items.length < this.size ? Infinity : (this.items[this.items.length - 1]?.solution.diameter ?? Infinity) + 1e-9;
  }

  offer(solution: Solution, pool: Int32Array): void {
    const key = solution.members.join(',');
    if (this.items.some((i) => i.solution.members.join(',') === key)) return;
    this.items.push({ solution, pool });
    this.items.sort((a, b) => (better(a.solution, b.solution) ? -1 : better(b.solution, a.solution) ? 1 : 0));
    if (this.items.length > this.size) this.items.length = this.size;
  }
}

/**
 * Tight placement over filtered candidates in canonical order (total free slots ≥ k).
 * Small lists: grow a cluster from every candidate by smallest diameter. Large
 * lists: rank sampled centers (densest cells + random) by the radius holding k
 * slots via a grid, score nearest-first clusters and grow from the best centers.
 * Then improve the best few by local swaps, re-center once, and lower the cost
 * without raising the diameter.
 */
export function placeTight(
  candidates: readonly PoolDevice[],
  k: number,
  random: RandomSource,
  effort: TightEffort = DEFAULT_TIGHT_EFFORT,
): Pick[] {
  // One device holding everything has diameter 0; the first such is the cheapest.
  const single = candidates.find((d) => d.freeSlots >= k);
  if (single) return [{ device: single, slots: k }];

  const s = new TightSolver(candidates, k);
  const all = s.n <= effort.exhaustiveUpTo ? Int32Array.from({ length: s.n }, (_, i) => i) : new Int32Array(0);
  const prune = k > effort.pruneAboveSlots;
  const shortlist = new Shortlist(Math.max(1, effort.improved));
  let grid: CandidateGrid | undefined;

  // Cheapest-first is a candidate too, so tight is never wider than it.
  const prefix: number[] = [];
  for (let v = 0, slots = 0; v < s.n && slots < k; v++) {
    prefix.push(v);
    slots += s.w[v] ?? 0;
  }
  shortlist.offer(s.evaluate(prefix), s.n <= effort.exhaustiveUpTo ? all : Int32Array.from(prefix));
  if (s.n <= effort.exhaustiveUpTo) {
    for (let v = 0; v < s.n; v++) {
      const members = s.grow([v], all, -1, prune ? shortlist.limit : Infinity);
      if (members) shortlist.offer(s.evaluate(members), all);
    }
  } else {
    grid = new CandidateGrid(s.x, s.y, s.h, s.w, MIN_CELL_MS);
    const picked = new Set<number>([...grid.denseCells(effort.denseCenters), ...randomCenters(s.n, effort.randomCenters, random)]);
    const ranked = rankCenters(s, grid, [...picked].sort((a, b) => a - b));
    const dist = scratchFloat64('tight.dist', s.n);
    for (const c of ranked.slice(0, effort.nearestCenters)) {
      shortlist.offer(s.evaluate(nearestPrefix(s, c.center, c.pool, dist)), c.pool);
    }
    for (const c of ranked.slice(0, effort.grownCenters)) {
      if (s.work + c.pool.length * Math.ceil(k / 2) > effort.workBudget / 2) break;
      const members = s.grow([c.center], c.pool, -1, prune ? shortlist.limit : Infinity);
      if (members) shortlist.offer(s.evaluate(members), c.pool);
    }
  }
  if (shortlist.items.length === 0) {
    // Unreachable: the cheapest-first prefix is always offered.
    return [];
  }

  let best: { solution: Solution; pool: Int32Array } | undefined;
  for (const item of shortlist.items) {
    const improved = improve(s, item.solution, item.pool, effort.improveRounds, effort.workBudget, prune);
    if (!best || better(improved, best.solution)) best = { solution: improved, pool: item.pool };
  }
  if (!best) return [];

  // Re-center once on the middle of the best cluster.
  const middle = middleOf(s, best.solution);
  if (grid) {
    const nearest = grid.around(middle, k, k);
    const candidate = s.evaluate(Array.from(nearest.pool));
    if (better(candidate, best.solution)) best = { solution: candidate, pool: best.pool };
  }
  if (s.work + best.pool.length * Math.ceil(k / 2) < effort.workBudget) {
    const regrown = s.grow([middle], best.pool, -1, prune ? best.solution.diameter + 1e-9 : Infinity);
    if (regrown) {
      const improved = improve(s, s.evaluate(regrown), best.pool, effort.improveRounds, effort.workBudget, prune);
      if (better(improved, best.solution)) best = { solution: improved, pool: best.pool };
    }
  }
  const final = polish(s, best.solution, best.pool);
  return final.members.map((v, i) => ({ device: candidates[v] as PoolDevice, slots: final.slots[i] ?? 0 }));
}
