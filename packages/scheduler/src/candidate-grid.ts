import { weightedSelectPrefix } from './weighted-select.ts';

const OFFSET = 1 << 15;

function cellKey(ix: number, iy: number): number {
  const cx = Math.max(-OFFSET + 1, Math.min(OFFSET - 1, ix)) + OFFSET;
  const cy = Math.max(-OFFSET + 1, Math.min(OFFSET - 1, iy)) + OFFSET;
  return cx * 65536 + cy;
}

/** The neighbourhood of a center: candidates nearest to it holding `need` slots, and the radius holding k. */
export interface Neighbourhood {
  readonly pool: Int32Array;
  readonly radius: number;
}

/**
 * A uniform grid over the plane part of the candidates' coordinates, built per
 * query in O(n). Answers "nearest candidates holding N slots" from a center by
 * visiting rings of cells outwards and stopping once no unvisited cell can be
 * nearer (in estimated RTT) than what has been found.
 */
export class CandidateGrid {
  private readonly cells = new Map<number, number[]>();
  private readonly slotsByCell = new Map<number, number>();
  private readonly minIx: number;
  private readonly maxIx: number;
  private readonly minIy: number;
  private readonly maxIy: number;
  private readonly minH: number;
  private readonly dist: Float64Array;
  private readonly scratch: Int32Array;

  private readonly cell: number;
  private collected = 0;

  /**
   * Cells are `minCell` ms wide or more: wide enough that there are about as many
   * cells over the bounding box as candidates, so sparse pools stay cheap to search.
   */
  constructor(
    private readonly x: Float64Array,
    private readonly y: Float64Array,
    private readonly h: Float64Array,
    private readonly w: Int32Array,
    minCell: number,
  ) {
    const n = x.length;
    let loX = Infinity;
    let hiX = -Infinity;
    let loY = Infinity;
    let hiY = -Infinity;
    let minH = Infinity;
    for (let v = 0; v < n; v++) {
      const xv = x[v] ?? 0;
      const yv = y[v] ?? 0;
      if (xv < loX) loX = xv;
      if (xv > hiX) hiX = xv;
      if (yv < loY) loY = yv;
      if (yv > hiY) hiY = yv;
      minH = Math.min(minH, h[v] ?? 0);
    }
    const area = n > 0 ? (hiX - loX) * (hiY - loY) : 0;
    this.cell = Math.max(minCell, Math.sqrt(area / Math.max(1, n)));
    let minIx = Infinity;
    let maxIx = -Infinity;
    let minIy = Infinity;
    let maxIy = -Infinity;
    for (let v = 0; v < n; v++) {
      const ix = Math.floor((x[v] ?? 0) / this.cell);
      const iy = Math.floor((y[v] ?? 0) / this.cell);
      minIx = Math.min(minIx, ix);
      maxIx = Math.max(maxIx, ix);
      minIy = Math.min(minIy, iy);
      maxIy = Math.max(maxIy, iy);
      const key = cellKey(ix, iy);
      const list = this.cells.get(key);
      if (list) list.push(v);
      else this.cells.set(key, [v]);
      this.slotsByCell.set(key, (this.slotsByCell.get(key) ?? 0) + (w[v] ?? 0));
    }
    this.minIx = minIx;
    this.maxIx = maxIx;
    this.minIy = minIy;
    this.maxIy = maxIy;
    this.minH = minH;
    this.dist = new Float64Array(n);
    this.scratch = new Int32Array(n);
  }

  /** For the `count` cells holding the most slots, the candidate with the lowest height. */
  denseCells(count: number): number[] {
    const ranked: Array<{ slots: number; best: number }> = [];
    for (const [key, list] of this.cells) {
      let best = list[0] ?? 0;
      for (const v of list) if ((this.h[v] ?? 0) < (this.h[best] ?? 0) || ((this.h[v] ?? 0) === (this.h[best] ?? 0) && v < best)) best = v;
      ranked.push({ slots: this.slotsByCell.get(key) ?? 0, best });
    }
    return ranked
      .sort((a, b) => b.slots - a.slots || a.best - b.best)
      .slice(0, count)
      .map((c) => c.best);
  }

  /** Computes distances from `c` for one cell's candidates and appends them to scratch; returns their slots. */
  private collectCell(key: number, c: number): number {
    const list = this.cells.get(key);
    if (!list) return 0;
    const xc = this.x[c] ?? 0;
    const yc = this.y[c] ?? 0;
    const hc = this.h[c] ?? 0;
    let slots = 0;
    for (const v of list) {
      const dx = xc - (this.x[v] ?? 0);
      const dy = yc - (this.y[v] ?? 0);
      this.dist[v] = v === c ? 0 : Math.sqrt(dx * dx + dy * dy) + hc + (this.h[v] ?? 0);
      this.scratch[this.collected++] = v;
      slots += this.w[v] ?? 0;
    }
    return slots;
  }

  /**
   * Nearest candidates to center `c` (by estimated RTT) holding `need` slots (all of
   * them if fewer), and the radius within which `k` slots lie. `work` gets the
   * number of distances computed.
   */
  around(c: number, k: number, need: number): Neighbourhood & { work: number } {
    const cx = Math.floor((this.x[c] ?? 0) / this.cell);
    const cy = Math.floor((this.y[c] ?? 0) / this.cell);
    const hc = this.h[c] ?? 0;
    this.collected = 0;
    let slots = 0;
    let bound = Infinity;
    const maxRing = Math.max(cx - this.minIx, this.maxIx - cx, cy - this.minIy, this.maxIy - cy);
    for (let r = 0; r <= maxRing; r++) {
      // Every cell of ring r + 1 is at least r cells away from the center's cell.
      if (r > 0 && (r - 1) * this.cell + hc + this.minH > bound + 1e-9) break;
      for (let ix = cx - r; ix <= cx + r; ix++) {
        if (ix < this.minIx || ix > this.maxIx) continue;
        const edge = ix === cx - r || ix === cx + r;
        for (let iy = cy - r; iy <= cy + r; iy += edge ? 1 : 2 * r) {
          if (iy < this.minIy || iy > this.maxIy) continue;
          slots += this.collectCell(cellKey(ix, iy), c);
        }
      }
      if (bound === Infinity && slots >= need) {
        // An upper bound on the need-th radius; later rings can only lower it.
        const copy = this.scratch.slice(0, this.collected);
        const len = weightedSelectPrefix(copy, this.collected, this.dist, this.w, need);
        bound = 0;
        for (let p = 0; p < len; p++) bound = Math.max(bound, this.dist[copy[p] ?? 0] ?? 0);
      }
    }
    const count = this.collected;
    const len = weightedSelectPrefix(this.scratch, count, this.dist, this.w, need);
    const pool = this.scratch.slice(0, len);
    const inner = pool.slice();
    const innerLen = weightedSelectPrefix(inner, inner.length, this.dist, this.w, k);
    let radius = 0;
    for (let p = 0; p < innerLen; p++) radius = Math.max(radius, this.dist[inner[p] ?? 0] ?? 0);
    return { pool, radius, work: count };
  }
}
