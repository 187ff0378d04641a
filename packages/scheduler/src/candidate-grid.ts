import { scratchFloat64, scratchInt32 } from './scratch.ts';
import { weightedSelectPrefix } from './weighted-select.ts';

/** The neighbourhood of a center: candidates nearest to it holding `need` slots, and the radius holding k. */
export interface Neighbourhood {
  readonly pool: Int32Array;
  readonly radius: number;
}

/**
 * A uniform grid over the plane part of the candidates' coordinates, built per
 * query in O(n) into flat arrays (cells in compressed-row form). Answers "nearest
 * candidates holding N slots" from a center by visiting rings of cells outwards
 * and stopping once no unvisited cell can be nearer (in estimated RTT) than what
 * has been found.
 */
export class CandidateGrid {
  private readonly cell: number;
  private readonly loX: number;
  private readonly loY: number;
  private readonly cols: number;
  private readonly rows: number;
  /** cellStart[c]..cellStart[c + 1] indexes `items` for cell c = col × rows + row. */
  private readonly cellStart: Int32Array;
  private readonly items: Int32Array;
  private readonly cellSlots: Float64Array;
  private readonly minH: number;
  private readonly dist: Float64Array;
  private readonly scratch: Int32Array;
  private collected = 0;

  /**
   * Cells are at least `minCell` ms wide, and wide enough that there are about as
   * many cells as candidates (at most ~9n), so sparse pools stay cheap to search.
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
      if ((h[v] ?? 0) < minH) minH = h[v] ?? 0;
    }
    if (n === 0) {
      loX = hiX = loY = hiY = minH = 0;
    }
    const spanX = hiX - loX;
    const spanY = hiY - loY;
    const count = Math.max(1, n);
    this.cell = Math.max(minCell, Math.sqrt((spanX * spanY) / count), Math.max(spanX, spanY) / (4 * count));
    this.loX = loX;
    this.loY = loY;
    this.cols = Math.floor(spanX / this.cell) + 1;
    this.rows = Math.floor(spanY / this.cell) + 1;
    this.minH = minH;
    const cells = this.cols * this.rows;
    const cellOf = scratchInt32('grid.cellOf', n);
    this.cellStart = scratchInt32('grid.cellStart', cells + 1, true);
    this.cellSlots = scratchFloat64('grid.cellSlots', cells, true);
    for (let v = 0; v < n; v++) {
      const c = this.colOf(x[v] ?? 0) * this.rows + this.rowOf(y[v] ?? 0);
      cellOf[v] = c;
      this.cellStart[c + 1] = (this.cellStart[c + 1] ?? 0) + 1;
      this.cellSlots[c] = (this.cellSlots[c] ?? 0) + (w[v] ?? 0);
    }
    for (let c = 0; c < cells; c++) this.cellStart[c + 1] = (this.cellStart[c + 1] ?? 0) + (this.cellStart[c] ?? 0);
    this.items = scratchInt32('grid.items', n);
    const fill = scratchInt32('grid.fill', cells);
    fill.set(this.cellStart.subarray(0, cells));
    for (let v = 0; v < n; v++) {
      const c = cellOf[v] ?? 0;
      this.items[fill[c] ?? 0] = v;
      fill[c] = (fill[c] ?? 0) + 1;
    }
    this.dist = scratchFloat64('grid.dist', n);
    this.scratch = scratchInt32('grid.scratch', n);
  }

  private colOf(x: number): number {
    return Math.min(this.cols - 1, Math.max(0, Math.floor((x - this.loX) / this.cell)));
  }

  private rowOf(y: number): number {
    return Math.min(this.rows - 1, Math.max(0, Math.floor((y - this.loY) / this.cell)));
  }

  /** For the `count` cells holding the most slots, the candidate with the lowest height. */
  denseCells(count: number): number[] {
    const top: number[] = [];
    const cells = this.cols * this.rows;
    for (let c = 0; c < cells; c++) {
      const slots = this.cellSlots[c] ?? 0;
      if (slots <= 0) continue;
      if (top.length === count && slots <= (this.cellSlots[top[top.length - 1] ?? 0] ?? 0)) continue;
      let at = top.length;
      while (at > 0 && (this.cellSlots[top[at - 1] ?? 0] ?? 0) < slots) at--;
      top.splice(at, 0, c);
      if (top.length > count) top.pop();
    }
    return top.map((c) => {
      let best = -1;
      for (let p = this.cellStart[c] ?? 0; p < (this.cellStart[c + 1] ?? 0); p++) {
        const v = this.items[p] ?? 0;
        if (best < 0 || (this.h[v] ?? 0) < (this.h[best] ?? 0)) best = v;
      }
      return best;
    });
  }

  /** Computes distances from `c` for one cell's candidates and appends them to scratch; returns their slots. */
  private collectCell(cell: number, c: number): number {
    const xc = this.x[c] ?? 0;
    const yc = this.y[c] ?? 0;
    const hc = this.h[c] ?? 0;
    let slots = 0;
    const end = this.cellStart[cell + 1] ?? 0;
    for (let p = this.cellStart[cell] ?? 0; p < end; p++) {
      const v = this.items[p] ?? 0;
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
    const cx = this.colOf(this.x[c] ?? 0);
    const cy = this.rowOf(this.y[c] ?? 0);
    const hc = this.h[c] ?? 0;
    this.collected = 0;
    let slots = 0;
    let bound = Infinity;
    const maxRing = Math.max(cx, this.cols - 1 - cx, cy, this.rows - 1 - cy);
    for (let r = 0; r <= maxRing; r++) {
      // Every cell of ring r is at least (r − 1) cells away from the center's point.
      if (r > 0 && (r - 1) * this.cell + hc + this.minH > bound + 1e-9) break;
      const colLo = Math.max(0, cx - r);
      const colHi = Math.min(this.cols - 1, cx + r);
      for (let col = colLo; col <= colHi; col++) {
        const edge = col === cx - r || col === cx + r;
        const step = edge ? 1 : 2 * r;
        for (let row = cy - r; row <= cy + r; row += step) {
          if (row < 0 || row >= this.rows) continue;
          slots += this.collectCell(col * this.rows + row, c);
        }
      }
      if (bound === Infinity && slots >= need) {
        // An upper bound on the need-th radius; later rings can only lower it.
        const copy = scratchInt32('grid.copy', this.collected);
        copy.set(this.scratch.subarray(0, this.collected));
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
