/**
 * Weighted quickselect. Reorders `idx[0..length)` so that the prefix holds exactly
 * the entries with key ≤ r, where r is the smallest key whose cumulative weight
 * (over keys ≤ r) reaches `need`, and returns that prefix length (or `length` with
 * everything when the total weight is below `need`). Expected O(length).
 * Deterministic: the pivot is the median of three fixed positions.
 */
export function weightedSelectPrefix(
  idx: Int32Array,
  length: number,
  key: Float64Array,
  weight: Int32Array,
  need: number,
): number {
  let lo = 0;
  let hi = length - 1;
  let remaining = need;
  while (lo <= hi) {
    const a = key[idx[lo] ?? 0] ?? 0;
    const b = key[idx[(lo + hi) >>> 1] ?? 0] ?? 0;
    const c = key[idx[hi] ?? 0] ?? 0;
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    // Dutch national flag: [lo, lt) < pivot, [lt, i) == pivot, (gt, hi] > pivot.
    let lt = lo;
    let i = lo;
    let gt = hi;
    let wLess = 0;
    let wEqual = 0;
    while (i <= gt) {
      const v = idx[i] ?? 0;
      const kv = key[v] ?? 0;
      if (kv < pivot) {
        idx[i] = idx[lt] ?? 0;
        idx[lt] = v;
        wLess += weight[v] ?? 0;
        lt++;
        i++;
      } else if (kv > pivot) {
        idx[i] = idx[gt] ?? 0;
        idx[gt] = v;
        gt--;
      } else {
        wEqual += weight[v] ?? 0;
        i++;
      }
    }
    if (wLess >= remaining) {
      hi = lt - 1;
    } else if (wLess + wEqual >= remaining) {
      return gt + 1;
    } else {
      remaining -= wLess + wEqual;
      lo = gt + 1;
    }
  }
  return Math.min(lo, length);
}
