import { createHash } from 'node:crypto';
import type { RandomSource } from '@idlegrid/domain';

/**
 * Proof-of-GPU arithmetic (DESIGN "Verification"). The server sends a 32-byte seed; the
 * agent derives two n×n matrices A and B from it, computes C = A×B on the claimed hardware
 * and returns one checksum per row of C plus its elapsed time. The server checks the
 * checksums without redoing the O(n³) product.
 *
 * Arithmetic: A and B have entries in [0, 16) (4-bit integers). Their exact product has
 * entries ≤ 225·n < 2²⁴ for n ≤ 16384, so an fp16-input / fp32-accumulate GPU matmul
 * (tensor cores at full speed) computes it exactly, as does the float64 loop here. The
 * result is defined as C = A×B mod p with p = 65521 (the largest prime below 2¹⁶), so every
 * check is exact: the tolerance is zero.
 *
 * Row checksum i is `"<sketch>:<digest>"`:
 * - sketch sᵢ = Σⱼ Cᵢⱼ·wⱼ mod p, with w derived from the seed. The server checks all n
 *   sketches at once with Freivalds' test A·(B·w) = C·w in O(n²): a wrong row (bad
 *   hardware, a flipped bit, a tampered value) escapes with probability ≤ 1/p.
 * - digest dᵢ = the first 16 hex digits of sha256 over the seed, i and row i of C. The
 *   sketch alone proves the numbers, not the work: anyone can compute A·(B·w) in O(n²).
 *   The digest is a function of the whole row, which costs n² to compute, so the server
 *   recomputes a few rows it picks at random (O(n²) each) and compares digests: a device
 *   that skipped a fraction f of the rows is caught with probability 1 − (1 − f)^rows.
 *
 * `freivaldsCheck` is the classic test on a full matrix C (random r: A(Br) = Cr), for when
 * C itself is at hand (small cpu challenges, tests, an agent checking itself).
 *
 * Stream layout, for the Python kernel to reproduce: block k (k = 0, 1, …) of stream
 * `label` is sha256("idlegrid/pogpu/v1/" + label ‖ seed ‖ k as 4-byte big-endian); the
 * blocks are concatenated. A and B (labels "A" and "B", row-major) take two entries per
 * byte, high nibble first. w (label "w") takes 2-byte big-endian words, skipping words ≥ p.
 * The digest of row i is sha256("idlegrid/pogpu/v1/row" ‖ seed ‖ i as 4-byte big-endian
 * ‖ the row's n entries as 4-byte little-endian), first 8 bytes in lowercase hex.
 */

/** The field of the checks: the largest prime below 2¹⁶. */
export const FIELD_PRIME = 65_521;
/** Largest n a challenge may use (the protocol's limit). */
export const MAX_CHALLENGE_N = 16_384;
/** Seed length in bytes. */
export const SEED_BYTES = 32;
/** Rows the server recomputes by default. */
export const DEFAULT_SPOT_ROWS = 4;

const DOMAIN = 'idlegrid/pogpu/v1/';

/** A square matrix, row-major. */
export interface SquareMatrix {
  readonly n: number;
  readonly data: Uint32Array;
}

export interface ChallengeMatrices {
  readonly a: SquareMatrix;
  readonly b: SquareMatrix;
}

function assertSeed(seed: Uint8Array): void {
  if (seed.length !== SEED_BYTES) throw new RangeError(`the challenge seed must be ${SEED_BYTES} bytes, got ${seed.length}`);
}

function assertN(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_CHALLENGE_N) throw new RangeError(`n must be an integer from 1 to ${MAX_CHALLENGE_N}, got ${n}`);
}

/** Bytes of the sha256-counter stream `label` of `seed`, in 32-byte blocks, lazily. */
function* stream(seed: Uint8Array, label: string): Generator<Uint8Array> {
  const counter = new Uint8Array(4);
  const view = new DataView(counter.buffer);
  for (let k = 0; ; k++) {
    view.setUint32(0, k);
    yield createHash('sha256').update(DOMAIN + label).update(seed).update(counter).digest();
  }
}

function nibbleMatrix(seed: Uint8Array, label: string, n: number): SquareMatrix {
  const data = new Uint32Array(n * n);
  let at = 0;
  for (const block of stream(seed, label)) {
    for (const byte of block) {
      if (at < data.length) data[at++] = byte >>> 4;
      if (at < data.length) data[at++] = byte & 15;
    }
    if (at >= data.length) break;
  }
  return { n, data };
}

/** A and B of the challenge `seed` (entries in [0, 16)). */
export function deriveChallengeMatrices(seed: Uint8Array, n: number): ChallengeMatrices {
  assertSeed(seed);
  assertN(n);
  return { a: nibbleMatrix(seed, 'A', n), b: nibbleMatrix(seed, 'B', n) };
}

/** The sketch vector w of `seed`: n values uniform in [0, p) (rejection sampling). */
export function sketchVector(seed: Uint8Array, n: number): Uint32Array {
  assertSeed(seed);
  assertN(n);
  const w = new Uint32Array(n);
  let at = 0;
  for (const block of stream(seed, 'w')) {
    for (let i = 0; i + 1 < block.length && at < n; i += 2) {
      const word = ((block[i] ?? 0) << 8) | (block[i + 1] ?? 0);
      if (word < FIELD_PRIME) w[at++] = word;
    }
    if (at >= n) break;
  }
  return w;
}

/** Row `i` of A×B mod p: O(n²). Exact (sums stay far below 2⁵³). */
export function productRow(a: SquareMatrix, b: SquareMatrix, i: number): Uint32Array {
  const n = a.n;
  const ad = a.data;
  const bd = b.data;
  const acc = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const aik = ad[i * n + k]!;
    if (aik === 0) continue;
    const base = k * n;
    for (let j = 0; j < n; j++) acc[j]! += aik * bd[base + j]!;
  }
  const row = new Uint32Array(n);
  for (let j = 0; j < n; j++) row[j] = (acc[j] ?? 0) % FIELD_PRIME;
  return row;
}

/** C = A×B mod p, the `cpu` class's work: O(n³) in plain TypeScript. */
export function multiplyMod(a: SquareMatrix, b: SquareMatrix): SquareMatrix {
  if (a.n !== b.n) throw new RangeError('A and B must have the same size');
  const n = a.n;
  const data = new Uint32Array(n * n);
  for (let i = 0; i < n; i++) data.set(productRow(a, b, i), i * n);
  return { n, data };
}

/** M·v mod p for a vector v with entries in [0, p): O(n²). */
export function multiplyVector(m: SquareMatrix, v: Uint32Array): Uint32Array {
  const n = m.n;
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    const base = i * n;
    // Each term < 2³², n ≤ 2¹⁴ terms: the sum stays below 2⁴⁶, exact in a double.
    for (let j = 0; j < n; j++) sum += (m.data[base + j] ?? 0) * (v[j] ?? 0);
    out[i] = sum % FIELD_PRIME;
  }
  return out;
}

function rowDigest(seed: Uint8Array, i: number, row: Uint32Array): string {
  const index = new Uint8Array(4);
  new DataView(index.buffer).setUint32(0, i);
  const bytes = new Uint8Array(row.length * 4);
  const view = new DataView(bytes.buffer);
  for (let j = 0; j < row.length; j++) view.setUint32(j * 4, row[j] ?? 0, true);
  return createHash('sha256').update(DOMAIN + 'row').update(seed).update(index).update(bytes).digest('hex').slice(0, 16);
}

function rowSketch(row: Uint32Array, w: Uint32Array): number {
  let sum = 0;
  for (let j = 0; j < row.length; j++) sum += (row[j] ?? 0) * (w[j] ?? 0);
  return sum % FIELD_PRIME;
}

/** The agent's answer: one `"<sketch>:<digest>"` per row of C (see the module comment). */
export function rowChecksums(seed: Uint8Array, c: SquareMatrix): string[] {
  const w = sketchVector(seed, c.n);
  return Array.from({ length: c.n }, (_, i) => {
    const row = c.data.subarray(i * c.n, (i + 1) * c.n);
    return `${rowSketch(row, w)}:${rowDigest(seed, i, row)}`;
  });
}

/** What the cpu class does for a challenge: derive, multiply, checksum. */
export function solveChallenge(seed: Uint8Array, n: number): string[] {
  const { a, b } = deriveChallengeMatrices(seed, n);
  return rowChecksums(seed, multiplyMod(a, b));
}

export type ChallengeFailure = 'count' | 'malformed' | 'freivalds' | 'spot_check';

export type ChallengeVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly failure: ChallengeFailure; readonly row?: number; readonly detail: string };

const CHECKSUM = /^(\d{1,5}):([0-9a-f]{16})$/;

/**
 * The server's check of an answer: n well-formed checksums, every sketch equal to
 * A·(B·w) (Freivalds, O(n²)), and `spotRows` rows picked with `random` recomputed and their
 * digests compared (O(n²) each). Pass the matrices if already derived.
 */
export function verifyRowChecksums(
  seed: Uint8Array,
  n: number,
  checksums: readonly string[],
  random: RandomSource,
  options: { readonly spotRows?: number; readonly matrices?: ChallengeMatrices } = {},
): ChallengeVerdict {
  assertN(n);
  if (checksums.length !== n) return { ok: false, failure: 'count', detail: `expected ${n} row checksums, got ${checksums.length}` };
  const sketches = new Uint32Array(n);
  const digests: string[] = [];
  for (let i = 0; i < n; i++) {
    const m = CHECKSUM.exec(checksums[i] ?? '');
    const sketch = Number(m?.[1]);
    if (!m || !(sketch < FIELD_PRIME)) return { ok: false, failure: 'malformed', row: i, detail: 'expected "<sketch below 65521>:<16 hex digits>"' };
    sketches[i] = sketch;
    digests.push(m[2] ?? '');
  }
  const { a, b } = options.matrices ?? deriveChallengeMatrices(seed, n);
  if (a.n !== n || b.n !== n) throw new RangeError(`the matrices passed are ${a.n}×${a.n}, not ${n}×${n}`);
  const expected = multiplyVector(a, multiplyVector(b, sketchVector(seed, n)));
  for (let i = 0; i < n; i++) {
    if (expected[i] !== sketches[i]) return { ok: false, failure: 'freivalds', row: i, detail: 'row sketch differs from A·(B·w)' };
  }
  for (const i of pickRows(n, options.spotRows ?? DEFAULT_SPOT_ROWS, random)) {
    if (rowDigest(seed, i, productRow(a, b, i)) !== digests[i]) {
      return { ok: false, failure: 'spot_check', row: i, detail: 'row digest differs from the recomputed row' };
    }
  }
  return { ok: true };
}

/** `count` distinct rows of [0, n) (all of them when count ≥ n), chosen with `random`. */
function pickRows(n: number, count: number, random: RandomSource): number[] {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`spotRows must be a non-negative integer, got ${count}`);
  const rows = Array.from({ length: n }, (_, i) => i);
  if (count >= n) return rows;
  // Partial Fisher–Yates: exactly `count` draws, whatever the generator returns.
  for (let t = 0; t < count; t++) {
    const j = t + Math.min(n - t - 1, Math.floor(random() * (n - t)));
    const tmp = rows[t] ?? 0;
    rows[t] = rows[j] ?? 0;
    rows[j] = tmp;
  }
  return rows.slice(0, count);
}

/**
 * Freivalds' test on a full C: `rounds` random vectors r (entries uniform in [0, p) from
 * `random`), each checking A·(B·r) = C·r mod p in O(n²). Accepts a correct C always; a wrong
 * one with probability ≤ p^(−rounds) (≈ 2.3·10⁻¹⁰ for 2 rounds). Entries of C must lie in
 * [0, p): anything else is not an answer.
 */
export function freivaldsCheck(a: SquareMatrix, b: SquareMatrix, c: SquareMatrix, random: RandomSource, rounds = 2): boolean {
  const n = a.n;
  if (b.n !== n || c.n !== n || c.data.length !== n * n) return false;
  if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError(`rounds must be a positive integer, got ${rounds}`);
  for (const v of c.data) if (v >= FIELD_PRIME) return false;
  for (let round = 0; round < rounds; round++) {
    const r = new Uint32Array(n);
    for (let j = 0; j < n; j++) r[j] = Math.min(FIELD_PRIME - 1, Math.floor(random() * FIELD_PRIME));
    const left = multiplyVector(a, multiplyVector(b, r));
    const right = multiplyVector(c, r);
    for (let i = 0; i < n; i++) if (left[i] !== right[i]) return false;
  }
  return true;
}

/** A 32-byte seed from 64 hex digits (how the `verify` message carries it). */
export function parseChallengeSeed(hex: string): Uint8Array {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new RangeError('a challenge seed is 64 hex digits');
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}
