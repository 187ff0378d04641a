/**
 * Reusable typed arrays for the placement code. A placement of 10⁵ candidates
 * needs about a dozen arrays of n entries; allocating them per query costs more
 * in zeroing and garbage collection (typed-array stores count as external memory)
 * than the search itself. Placements never nest and JavaScript is single-threaded,
 * so each named buffer has one user at a time. Contents are garbage unless `zero`.
 */
const floats = new Map<string, Float64Array>();
const ints = new Map<string, Int32Array>();
const bytes = new Map<string, Uint8Array>();

function grow<T extends Float64Array | Int32Array | Uint8Array>(
  cache: Map<string, T>,
  name: string,
  n: number,
  make: (length: number) => T,
): T {
  let buffer = cache.get(name);
  if (!buffer || buffer.length < n) {
    buffer = make(Math.max(n, 1024, 2 * (buffer?.length ?? 0)));
    cache.set(name, buffer);
  }
  return buffer;
}

/** A Float64Array view of length n from the named buffer. */
export function scratchFloat64(name: string, n: number, zero = false): Float64Array {
  const view = grow(floats, name, n, (l) => new Float64Array(l)).subarray(0, n);
  if (zero) view.fill(0);
  return view;
}

/** An Int32Array view of length n from the named buffer. */
export function scratchInt32(name: string, n: number, zero = false): Int32Array {
  const view = grow(ints, name, n, (l) => new Int32Array(l)).subarray(0, n);
  if (zero) view.fill(0);
  return view;
}

/** A Uint8Array view of length n from the named buffer. */
export function scratchUint8(name: string, n: number, zero = false): Uint8Array {
  const view = grow(bytes, name, n, (l) => new Uint8Array(l)).subarray(0, n);
  if (zero) view.fill(0);
  return view;
}
