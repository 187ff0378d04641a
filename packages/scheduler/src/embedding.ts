import { geoRttMs, type LatLon } from './geo.ts';
import type { Coordinate } from './types.ts';

/** Pairs closer than this (ms) are fitted on absolute rather than relative error. */
const RELATIVE_FLOOR_MS = 20;
const MIN_HEIGHT_MS = 0.1;

/** Top eigenvector of a symmetric matrix by power iteration, from a fixed start (deterministic). */
function topEigen(matrix: Float64Array[], n: number, salt: number): { vector: Float64Array; value: number } {
  let v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = Math.sin((i + 1) * (salt + 1.618));
  let value = 0;
  for (let iter = 0; iter < 300; iter++) {
    const next = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const row = matrix[i] ?? new Float64Array(n);
      let s = 0;
      for (let j = 0; j < n; j++) s += (row[j] ?? 0) * (v[j] ?? 0);
      next[i] = s;
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += (next[i] ?? 0) ** 2;
    norm = Math.sqrt(norm);
    if (norm === 0) break;
    for (let i = 0; i < n; i++) next[i] = (next[i] ?? 0) / norm;
    value = norm;
    v = next;
  }
  return { vector: v, value };
}

/** Classical multidimensional scaling of a distance matrix into 2-D. */
function classicalMds(dist: Float64Array[], n: number): Array<[number, number]> {
  const b: Float64Array[] = [];
  const rowMean = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const d2 = (dist[i]?.[j] ?? 0) ** 2;
      rowMean[i] = (rowMean[i] ?? 0) + d2 / n;
      total += d2 / (n * n);
    }
  }
  for (let i = 0; i < n; i++) {
    const row = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      const d2 = (dist[i]?.[j] ?? 0) ** 2;
      row[j] = -0.5 * (d2 - (rowMean[i] ?? 0) - (rowMean[j] ?? 0) + total);
    }
    b.push(row);
  }
  const first = topEigen(b, n, 0);
  // Deflate and take the second component.
  for (let i = 0; i < n; i++) {
    const row = b[i] ?? new Float64Array(n);
    for (let j = 0; j < n; j++) row[j] = (row[j] ?? 0) - first.value * (first.vector[i] ?? 0) * (first.vector[j] ?? 0);
  }
  const second = topEigen(b, n, 1);
  const s1 = Math.sqrt(Math.max(first.value, 0));
  const s2 = Math.sqrt(Math.max(second.value, 0));
  return Array.from({ length: n }, (_, i) => [(first.vector[i] ?? 0) * s1, (second.vector[i] ?? 0) * s2]);
}

/**
 * Deterministically embeds places into Vivaldi space (2-D + height) so that
 * estimateRtt between two places ≈ great-circle distance ÷ 100 km/ms: classical MDS
 * for the plane, then spring relaxation of plane and heights on (mostly relative) error.
 */
export function embedGeoPoints(points: readonly LatLon[], epochs = 300): Coordinate[] {
  const n = points.length;
  const target: Float64Array[] = points.map((a) => Float64Array.from(points, (b) => geoRttMs(a, b)));
  const start = classicalMds(target, n);
  const x = Float64Array.from(start, (p) => p[0]);
  const y = Float64Array.from(start, (p) => p[1]);
  const h = new Float64Array(n).fill(1);
  for (let epoch = 0; epoch < epochs; epoch++) {
    const eta = 0.2 * (1 - epoch / epochs) + 0.005;
    const forward = epoch % 2 === 0;
    for (let a = 0; a < n; a++) {
      const i = forward ? a : n - 1 - a;
      for (let j = 0; j < n; j++) {
        if (j === i) continue;
        const t = target[i]?.[j] ?? 0;
        const dx = (x[i] ?? 0) - (x[j] ?? 0);
        const dy = (y[i] ?? 0) - (y[j] ?? 0);
        const plane = Math.sqrt(dx * dx + dy * dy);
        const hi = h[i] ?? 0;
        const hj = h[j] ?? 0;
        const est = plane + hi + hj;
        if (est <= 0) continue;
        const step = eta * Math.min(1, RELATIVE_FLOOR_MS / Math.max(t, 1e-9)) * (t - est);
        // Move i only (j moves on its own turn), along the height vector.
        if (plane > 1e-9) {
          x[i] = (x[i] ?? 0) + (step * dx) / est;
          y[i] = (y[i] ?? 0) + (step * dy) / est;
        }
        h[i] = Math.max(MIN_HEIGHT_MS, hi + (step * (hi + hj)) / est);
      }
    }
  }
  return Array.from({ length: n }, (_, i) => ({ x: x[i] ?? 0, y: y[i] ?? 0, h: h[i] ?? 0 }));
}
