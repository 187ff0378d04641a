import { scratchFloat64, scratchInt32, scratchUint8 } from './scratch.ts';
import { better, type Solution, type TightSolver } from './tight-solver.ts';

const EPS = 1e-9;

/**
 * For every candidate of a pool (and every member), its two largest RTTs to the
 * members of a set and which member gives the largest. The largest RTT to the set
 * minus one member is then read in O(1): the runner-up when that member was the
 * farthest. Rebuilt in O((pool + members) × members) when the set changes.
 */
class FarthestTwo {
  readonly first: Float64Array;
  readonly second: Float64Array;
  readonly arg: Int32Array;

  constructor(n: number) {
    this.first = scratchFloat64('far.first', n);
    this.second = scratchFloat64('far.second', n);
    this.arg = scratchInt32('far.arg', n);
  }

  /** Fills the table for `members`; once both values of a candidate pass `limit` its scan stops (it can never join). */
  build(s: TightSolver, members: readonly number[], pool: Int32Array, limit: number): void {
    let work = 0;
    const fill = (v: number): void => {
      let first = 0;
      let second = 0;
      let arg = -1;
      for (const u of members) {
        work++;
        const r = s.rtt(u, v);
        if (r > first) {
          second = first;
          first = r;
          arg = u;
        } else if (r > second) {
          second = r;
        }
        if (second > limit) break;
      }
      this.first[v] = first;
      this.second[v] = second;
      this.arg[v] = arg;
    };
    for (const v of pool) fill(v);
    for (const v of members) fill(v);
    s.work += work;
  }

  /** Largest RTT from v to the set without `removed`. */
  without(v: number, removed: number): number {
    return this.arg[v] === removed ? (this.second[v] ?? 0) : (this.first[v] ?? 0);
  }
}

/**
 * Local improvement: drop one end of the diameter, regrow without it, and keep the
 * change when the result (after shrink and trim) is better. Each try costs
 * O(pool + growth) thanks to FarthestTwo. With `prune` the regrowth only considers
 * candidates within the current diameter of every kept member: faster on big
 * clusters, but blind to swaps that shrink/trim would have made possible. Stops at
 * a local optimum, after `maxIters` rounds, or when the solver's work passes `workLimit`.
 */
export function improve(
  s: TightSolver,
  start: Solution,
  pool: Int32Array,
  maxIters: number,
  workLimit: number,
  prune: boolean,
): Solution {
  let current = start;
  // Building the table costs up to (pool + members) × members; skip what the budget cannot pay for.
  const affordable = (solution: Solution): boolean =>
    s.work + (pool.length + solution.members.length) * solution.members.length <= workLimit;
  if (!affordable(current)) return current;
  const far = new FarthestTwo(s.n);
  far.build(s, current.members, pool, prune ? current.diameter + EPS : Infinity);
  for (let iter = 0; iter < maxIters && s.work < workLimit; iter++) {
    let improved = false;
    for (const end of [current.endA, current.endB]) {
      if (end < 0) continue;
      const limit = prune ? current.diameter + EPS : Infinity;
      const seed = current.members.filter((v) => v !== end);
      let seedDiameter = 0;
      for (const u of seed) seedDiameter = Math.max(seedDiameter, far.without(u, end));
      if (seedDiameter > limit) continue;
      for (const v of pool) s.ecc[v] = far.without(v, end);
      s.work += pool.length + seed.length;
      const grown = s.extend(seed, seedDiameter, pool, end, limit);
      if (!grown) continue;
      const candidate = s.evaluate(grown);
      if (better(candidate, current)) {
        current = candidate;
        improved = true;
        break;
      }
      if (s.work >= workLimit) break;
    }
    if (!improved || !affordable(current)) break;
    far.build(s, current.members, pool, prune ? current.diameter + EPS : Infinity);
  }
  return current;
}

/**
 * Cost polish at a fixed diameter: walking the pool cheapest first, add any
 * candidate cheaper than the dearest member whose RTT to every current member is
 * within the diameter, then drop the dearest members no longer needed. Never
 * raises the diameter. Members are checked outermost first, so misfits are
 * rejected after a few RTTs.
 */
export function polish(s: TightSolver, start: Solution, pool: Int32Array): Solution {
  if (start.members.length === 0) return start;
  const limit = start.diameter + EPS;
  const members = [...start.members].sort((a, b) => a - b);
  const inSet = scratchUint8('polish.in', s.n, true);
  for (const v of members) inSet[v] = 1;
  // Check order: outermost (plane distance from the centroid plus height) first; later additions go last.
  let cx = 0;
  let cy = 0;
  for (const v of members) {
    cx += s.x[v] ?? 0;
    cy += s.y[v] ?? 0;
  }
  cx /= members.length;
  cy /= members.length;
  const outer = (v: number): number => Math.hypot((s.x[v] ?? 0) - cx, (s.y[v] ?? 0) - cy) + (s.h[v] ?? 0);
  let checkOrder = [...members].sort((a, b) => outer(b) - outer(a) || a - b);
  let removed = 0;
  let slots = 0;
  for (const v of members) slots += s.w[v] ?? 0;
  const order = Int32Array.from(pool).sort();
  let work = 0;
  for (const v of order) {
    const dearest = members[members.length - 1] ?? -1;
    if (v >= dearest) break;
    if (inSet[v] === 1) continue;
    let fits = true;
    for (const u of checkOrder) {
      if (inSet[u] !== 1) continue;
      work++;
      if (s.rtt(u, v) > limit) {
        fits = false;
        break;
      }
    }
    if (!fits) continue;
    // Insert v in price order (binary search), then drop the dearest members while k slots remain without them.
    let lo = 0;
    let hi = members.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((members[mid] ?? 0) < v) lo = mid + 1;
      else hi = mid;
    }
    members.splice(lo, 0, v);
    inSet[v] = 1;
    checkOrder.push(v);
    slots += s.w[v] ?? 0;
    for (;;) {
      const last = members[members.length - 1] ?? -1;
      if (last < 0 || slots - (s.w[last] ?? 0) < s.k) break;
      members.pop();
      inSet[last] = 0;
      removed++;
      slots -= s.w[last] ?? 0;
    }
    if (removed > checkOrder.length / 2) {
      checkOrder = checkOrder.filter((u) => inSet[u] === 1);
      removed = 0;
    }
  }
  s.work += work;
  const result = s.evaluate(members);
  return better(result, start) ? result : start;
}
