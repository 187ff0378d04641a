import { scratchFloat64, scratchInt32, scratchUint8 } from './scratch.ts';
import type { PoolDevice } from './types.ts';

/** A candidate cluster: members (indices into the candidate list, ascending = cheapest first). */
export interface Solution {
  readonly members: readonly number[];
  /** Slots taken from each member (same order). */
  readonly slots: readonly number[];
  readonly diameter: number;
  readonly cost: bigint;
  /** The two members realizing the diameter (-1 when there is only one member). */
  readonly endA: number;
  readonly endB: number;
}

const EPS = 1e-9;

/** True when `a` is a better tight solution than `b`: smaller diameter, then lower cost. */
export function better(a: Solution, b: Solution | undefined): boolean {
  if (!b) return true;
  if (a.diameter < b.diameter - EPS) return true;
  if (a.diameter > b.diameter + EPS) return false;
  return a.cost < b.cost;
}

/**
 * The numeric core of `tight` placement over one filtered candidate list (canonical
 * order, so a lower index is never more expensive). Coordinates live in typed
 * arrays; `work` counts RTT evaluations so callers can bound the effort.
 */
export class TightSolver {
  readonly n: number;
  readonly k: number;
  readonly x: Float64Array;
  readonly y: Float64Array;
  readonly h: Float64Array;
  /** Usable slots per candidate: min(freeSlots, k). */
  readonly w: Int32Array;
  readonly price: readonly bigint[];
  work = 0;
  /** Scratch: membership marks during growth. */
  readonly mark: Uint8Array;
  /** Scratch: per candidate, the largest RTT to the current members (see extend). */
  readonly ecc: Float64Array;
  private readonly keys: Float64Array;

  constructor(candidates: readonly PoolDevice[], k: number) {
    this.n = candidates.length;
    this.k = k;
    this.x = scratchFloat64('solver.x', this.n);
    this.y = scratchFloat64('solver.y', this.n);
    this.h = scratchFloat64('solver.h', this.n);
    this.w = scratchInt32('solver.w', this.n);
    const price: bigint[] = [];
    for (let i = 0; i < this.n; i++) {
      const d = candidates[i];
      if (!d) continue;
      this.x[i] = d.coordinate.x;
      this.y[i] = d.coordinate.y;
      this.h[i] = d.coordinate.h;
      this.w[i] = Math.min(d.freeSlots, k);
      price.push(d.pricePerGpuHour);
    }
    this.price = price;
    this.mark = scratchUint8('solver.mark', this.n, true);
    this.ecc = scratchFloat64('solver.ecc', this.n);
    this.keys = scratchFloat64('solver.keys', this.n);
  }

  /** Estimated RTT between candidates i and j (0 for the same device). */
  rtt(i: number, j: number): number {
    if (i === j) return 0;
    const dx = (this.x[i] ?? 0) - (this.x[j] ?? 0);
    const dy = (this.y[i] ?? 0) - (this.y[j] ?? 0);
    return Math.sqrt(dx * dx + dy * dy) + (this.h[i] ?? 0) + (this.h[j] ?? 0);
  }

  /**
   * Greedy growth: starting from `seed`, repeatedly add the candidate of `pool`
   * that keeps the diameter smallest (ties: smaller eccentricity, then cheaper)
   * until k slots are reached. `banned` is never added; candidates farther than
   * `limit` from any member are never added either (pruning: the caller only wants
   * solutions within `limit`). Returns the members, or null when that is impossible.
   */
  grow(seed: readonly number[], pool: Int32Array, banned = -1, limit = Infinity): number[] | null {
    const { ecc, x, y, h } = this;
    let diameter = 0;
    for (let a = 0; a < seed.length; a++) {
      for (let b = a + 1; b < seed.length; b++) diameter = Math.max(diameter, this.rtt(seed[a] ?? 0, seed[b] ?? 0));
    }
    this.work += (seed.length * (seed.length - 1)) / 2;
    if (diameter > limit) return null;
    const m = pool.length;
    let work = 0;
    for (let p = 0; p < m; p++) {
      const v = pool[p] ?? 0;
      const xv = x[v] ?? 0;
      const yv = y[v] ?? 0;
      const hv = h[v] ?? 0;
      let e = 0;
      for (const s of seed) {
        work++;
        const dx = xv - (x[s] ?? 0);
        const dy = yv - (y[s] ?? 0);
        const r = Math.sqrt(dx * dx + dy * dy) + hv + (h[s] ?? 0);
        if (r > e) {
          e = r;
          if (e > limit) break;
        }
      }
      ecc[v] = e;
    }
    this.work += work;
    return this.extend(seed, diameter, pool, banned, limit);
  }

  /**
   * The selection loop of `grow`, for callers that have already filled `ecc` for
   * every candidate of `pool` (its largest RTT to the seed) and know the seed's diameter.
   */
  extend(seed: readonly number[], seedDiameter: number, pool: Int32Array, banned: number, limit: number): number[] | null {
    const { mark, ecc, x, y, h } = this;
    const members = [...seed];
    let slots = 0;
    let diameter = seedDiameter;
    for (const s of seed) {
      mark[s] = 1;
      slots += this.w[s] ?? 0;
    }
    const m = pool.length;
    // Select the first addition, then fuse "update eccentricities" with "select the next".
    let best = -1;
    let bestKey = Infinity;
    let bestEcc = Infinity;
    for (let p = 0; p < m; p++) {
      const v = pool[p] ?? 0;
      if (mark[v] === 1 || v === banned) continue;
      const e = ecc[v] ?? 0;
      if (e > limit) continue;
      const key = e > diameter ? e : diameter;
      if (key < bestKey || (key === bestKey && (e < bestEcc || (e === bestEcc && v < best)))) {
        best = v;
        bestKey = key;
        bestEcc = e;
      }
    }
    this.work += m;
    while (slots < this.k && best >= 0) {
      const added = best;
      members.push(added);
      mark[added] = 1;
      slots += this.w[added] ?? 0;
      diameter = bestKey;
      if (slots >= this.k) break;
      const xb = x[added] ?? 0;
      const yb = y[added] ?? 0;
      const hb = h[added] ?? 0;
      best = -1;
      bestKey = Infinity;
      bestEcc = Infinity;
      for (let p = 0; p < m; p++) {
        const v = pool[p] ?? 0;
        let e = ecc[v] ?? 0;
        if (e > limit || mark[v] === 1 || v === banned) continue;
        const dx = xb - (x[v] ?? 0);
        const dy = yb - (y[v] ?? 0);
        const r = Math.sqrt(dx * dx + dy * dy) + hb + (h[v] ?? 0);
        if (r > e) {
          e = r;
          ecc[v] = r;
          if (e > limit) continue;
        }
        const key = e > diameter ? e : diameter;
        if (key < bestKey || (key === bestKey && (e < bestEcc || (e === bestEcc && v < best)))) {
          best = v;
          bestKey = key;
          bestEcc = e;
        }
      }
      this.work += m;
    }
    for (const v of members) mark[v] = 0;
    return slots >= this.k ? members : null;
  }

  /** Keeps the cheapest members that fill k slots (the last one possibly partly); ascending. */
  trim(members: readonly number[]): { members: number[]; slots: number[] } {
    const sorted = [...members].sort((a, b) => a - b);
    const kept: number[] = [];
    const slots: number[] = [];
    let need = this.k;
    for (const v of sorted) {
      if (need <= 0) break;
      const take = Math.min(this.w[v] ?? 0, need);
      kept.push(v);
      slots.push(take);
      need -= take;
    }
    return { members: kept, slots };
  }

  /**
   * Diameter prune: while the set holds more than k slots, drop an end of the
   * diameter whose slots are surplus (if both qualify, the one whose removal leaves
   * the smaller diameter). Each step is a few branch-and-bound diameters.
   */
  shrink(members: readonly number[]): number[] {
    let slots = 0;
    for (const v of members) slots += this.w[v] ?? 0;
    let set = [...members];
    for (let step = 0; step < 16 && slots > this.k && set.length > 1; step++) {
      const surplus = slots - this.k;
      const { endA, endB } = this.diameter(set);
      const canA = endA >= 0 && (this.w[endA] ?? 0) <= surplus;
      const canB = endB >= 0 && (this.w[endB] ?? 0) <= surplus;
      if (!canA && !canB) break;
      let drop = canA ? endA : endB;
      if (canA && canB) {
        const withoutA = this.diameter(set.filter((v) => v !== endA)).diameter;
        const withoutB = this.diameter(set.filter((v) => v !== endB)).diameter;
        drop = withoutB < withoutA || (withoutB === withoutA && endB > endA) ? endB : endA;
      }
      slots -= this.w[drop] ?? 0;
      set = set.filter((v) => v !== drop);
    }
    return set;
  }

  /**
   * Exact diameter of a member set and its two ends, by branch and bound: with c the
   * centroid and key(v) = |v − c| + h(v), rtt(a, b) ≤ key(a) + key(b), so pairs are
   * visited by decreasing key until no pair can beat the best. Near-linear for
   * clustered sets, quadratic at worst.
   */
  diameter(members: readonly number[]): { diameter: number; endA: number; endB: number } {
    const m = members.length;
    if (m < 2) return { diameter: 0, endA: -1, endB: -1 };
    let cx = 0;
    let cy = 0;
    for (const v of members) {
      cx += this.x[v] ?? 0;
      cy += this.y[v] ?? 0;
    }
    cx /= m;
    cy /= m;
    const order = [...members];
    const key = this.keys;
    for (const v of order) {
      const dx = (this.x[v] ?? 0) - cx;
      const dy = (this.y[v] ?? 0) - cy;
      key[v] = Math.sqrt(dx * dx + dy * dy) + (this.h[v] ?? 0);
    }
    order.sort((a, b) => (key[b] ?? 0) - (key[a] ?? 0) || a - b);
    let best = -1;
    let endA = -1;
    let endB = -1;
    const top = key[order[0] ?? 0] ?? 0;
    let work = 0;
    for (let i = 0; i < m; i++) {
      const a = order[i] ?? 0;
      const ka = key[a] ?? 0;
      if (ka + top <= best) break;
      for (let j = i + 1; j < m; j++) {
        const b = order[j] ?? 0;
        if (ka + (key[b] ?? 0) <= best) break;
        work++;
        const r = this.rtt(a, b);
        if (r > best) {
          best = r;
          endA = Math.min(a, b);
          endB = Math.max(a, b);
        }
      }
    }
    this.work += work + m;
    return { diameter: best, endA, endB };
  }

  /** Prunes, trims and scores a member set. */
  evaluate(members: readonly number[]): Solution {
    const t = this.trim(this.shrink(members));
    const m = t.members;
    const { diameter, endA, endB } = this.diameter(m);
    let cost = 0n;
    for (let a = 0; a < m.length; a++) cost += (this.price[m[a] ?? 0] ?? 0n) * BigInt(t.slots[a] ?? 0);
    return { members: m, slots: t.slots, diameter, cost, endA, endB };
  }
}
