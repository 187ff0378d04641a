import { describe, expect, it } from 'vitest';
import { seededRandom } from '@idlegrid/domain';
import {
  deriveChallengeMatrices, FIELD_PRIME, freivaldsCheck, multiplyMod, multiplyVector, parseChallengeSeed, rowChecksums,
  sketchVector, solveChallenge, verifyRowChecksums, type SquareMatrix,
} from './index.ts';

const seedA = Uint8Array.from({ length: 32 }, (_, i) => i);
const seedB = new Uint8Array(32).fill(0xab);

function tamper(c: SquareMatrix, edit: (data: Uint32Array, n: number) => void): SquareMatrix {
  const data = Uint32Array.from(c.data);
  edit(data, c.n);
  return { n: c.n, data };
}

/** C computed the slow, obvious way. */
function naiveProduct(a: SquareMatrix, b: SquareMatrix): number[][] {
  const n = a.n;
  return Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => {
      let s = 0;
      for (let k = 0; k < n; k++) s += (a.data[i * n + k] ?? 0) * (b.data[k * n + j] ?? 0);
      return s % FIELD_PRIME;
    }));
}

describe('seeded challenge', () => {
  it('matches the documented stream layout (independent Python implementation, hashlib)', () => {
    const { a, b } = deriveChallengeMatrices(seedA, 4);
    expect([...a.data]).toEqual([4, 6, 1, 5, 8, 14, 6, 13, 9, 2, 8, 1, 2, 6, 7, 0]);
    expect([...b.data]).toEqual([13, 0, 7, 2, 5, 3, 13, 8, 0, 11, 5, 6, 12, 11, 13, 6]);
    expect([...sketchVector(seedA, 4)]).toEqual([29261, 14225, 62931, 2396]);
    expect(solveChallenge(seedA, 4)).toEqual(['3916:42d04b481e77cbfc', '29054:816e8a3e5e9b3d5c', '31250:d04cd7382d477d0c', '3361:025187f567206abd']);
    const big = solveChallenge(seedB, 33);
    expect([big[0], big[32]]).toEqual(['32952:415f1d6014ea9169', '42088:daf6065fcfa11878']);
  });

  it('is deterministic, differs between seeds, and multiplies correctly', () => {
    const m1 = deriveChallengeMatrices(seedB, 24);
    expect(deriveChallengeMatrices(seedB, 24)).toEqual(m1);
    expect(deriveChallengeMatrices(seedA, 24).a.data).not.toEqual(m1.a.data);
    expect(Math.max(...m1.a.data, ...m1.b.data)).toBeLessThan(16);
    const c = multiplyMod(m1.a, m1.b);
    const naive = naiveProduct(m1.a, m1.b);
    for (let i = 0; i < 24; i++) expect([...c.data.subarray(i * 24, i * 24 + 24)]).toEqual(naive[i]);
  });

  it('refuses bad seeds and sizes', () => {
    expect(() => deriveChallengeMatrices(new Uint8Array(31), 4)).toThrow(RangeError);
    expect(() => deriveChallengeMatrices(seedA, 0)).toThrow(RangeError);
    expect(() => deriveChallengeMatrices(seedA, 16_385)).toThrow(RangeError);
    expect(parseChallengeSeed('00'.repeat(31) + 'ff')[31]).toBe(255);
    expect(() => parseChallengeSeed('zz')).toThrow(RangeError);
  });
});

describe('freivaldsCheck on a full C', () => {
  const n = 64;
  const { a, b } = deriveChallengeMatrices(seedA, n);
  const c = multiplyMod(a, b);

  it('accepts the honest product, whatever the randomness', () => {
    for (let s = 0; s < 20; s++) expect(freivaldsCheck(a, b, c, seededRandom(s))).toBe(true);
  });

  const tampers: ReadonlyArray<[string, SquareMatrix]> = [
    ['one entry + 1', tamper(c, (d) => { d[n * 5 + 7] = ((d[n * 5 + 7] ?? 0) + 1) % FIELD_PRIME; })],
    ['one entry − 1 in the last row', tamper(c, (d) => { d[n * n - 1] = ((d[n * n - 1] ?? 0) + FIELD_PRIME - 1) % FIELD_PRIME; })],
    ['two rows swapped', tamper(c, (d) => { const r3 = d.slice(3 * n, 4 * n); d.copyWithin(3 * n, 9 * n, 10 * n); d.set(r3, 9 * n); })],
    ['a row zeroed', tamper(c, (d) => d.fill(0, 20 * n, 21 * n))],
    ['transposed', tamper(c, (d) => { for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) d[i * n + j] = c.data[j * n + i] ?? 0; })],
    ['the product of another seed', multiplyMod(deriveChallengeMatrices(seedB, n).a, deriveChallengeMatrices(seedB, n).b)],
    ['all zeros', { n, data: new Uint32Array(n * n) }],
    ['an entry + p (out of range, congruent)', tamper(c, (d) => { d[0] = (d[0] ?? 0) + FIELD_PRIME; })],
    ['one entry changed by 12345', tamper(c, (d) => { d[42] = ((d[42] ?? 0) + 12_345) % FIELD_PRIME; })],
  ];
  it.each(tampers)('rejects: %s', (_kind, bad) => {
    for (let s = 0; s < 20; s++) expect(freivaldsCheck(a, b, bad, seededRandom(s), 1)).toBe(false);
  });

  it('rejects a C of the wrong size', () => {
    expect(freivaldsCheck(a, b, { n, data: c.data.subarray(0, n * n - 1) }, seededRandom(1))).toBe(false);
    expect(freivaldsCheck(a, b, multiplyMod(deriveChallengeMatrices(seedA, 8).a, deriveChallengeMatrices(seedA, 8).b), seededRandom(1))).toBe(false);
  });
});

describe('verifyRowChecksums (what the server checks)', () => {
  it('accepts honest answers for several sizes and seeds', () => {
    for (const [seed, n] of [[seedA, 1], [seedA, 7], [seedB, 64], [seedB, 100]] as const) {
      expect(verifyRowChecksums(seed, n, solveChallenge(seed, n), seededRandom(n))).toEqual({ ok: true });
      expect(verifyRowChecksums(seed, n, solveChallenge(seed, n), seededRandom(n), { spotRows: n })).toEqual({ ok: true });
    }
  });

  const n = 48;
  const honest = solveChallenge(seedB, n);
  const { a, b } = deriveChallengeMatrices(seedB, n);
  const w = sketchVector(seedB, n);
  const verify = (checksums: readonly string[], spotRows?: number) =>
    verifyRowChecksums(seedB, n, checksums, seededRandom(9), spotRows === undefined ? {} : { spotRows });
  const withRow = (i: number, value: string) => honest.map((v, j) => (j === i ? value : v));

  it('rejects a wrong number of rows', () => {
    expect(verify(honest.slice(1))).toMatchObject({ ok: false, failure: 'count' });
  });
  it('rejects malformed checksums', () => {
    expect(verify(withRow(3, 'nope'))).toMatchObject({ ok: false, failure: 'malformed', row: 3 });
    expect(verify(withRow(4, `${FIELD_PRIME}:0123456789abcdef`))).toMatchObject({ ok: false, failure: 'malformed', row: 4 });
  });
  it('rejects a changed sketch (Freivalds)', () => {
    const [sketch, digest] = (honest[17] ?? '').split(':');
    expect(verify(withRow(17, `${(Number(sketch) + 1) % FIELD_PRIME}:${digest}`))).toMatchObject({ ok: false, failure: 'freivalds', row: 17 });
  });
  it('rejects rows in the wrong order', () => {
    expect(verify([honest[1] ?? '', honest[0] ?? '', ...honest.slice(2)])).toMatchObject({ ok: false, failure: 'freivalds', row: 0 });
  });
  it('rejects the answer to another seed', () => {
    expect(verify(solveChallenge(seedA, n))).toMatchObject({ ok: false, failure: 'freivalds' });
  });
  it('rejects a changed digest when its row is recomputed', () => {
    const [sketch] = (honest[30] ?? '').split(':');
    expect(verify(withRow(30, `${sketch}:0000000000000000`), n)).toMatchObject({ ok: false, failure: 'spot_check', row: 30 });
  });
  it('rejects a forger who computed A·(B·w) in O(n²) instead of the product', () => {
    const sketches = multiplyVector(a, multiplyVector(b, w));
    const forged = [...sketches].map((s) => `${s}:${'0'.repeat(16)}`);
    const verdict = verify(forged);
    expect(verdict).toMatchObject({ ok: false, failure: 'spot_check' });
  });
  it('catches a device that computed only half of the rows with high probability', () => {
    const sketches = multiplyVector(a, multiplyVector(b, w));
    const half = honest.map((v, i) => (i % 2 === 0 ? v : `${sketches[i]}:${'f'.repeat(16)}`));
    let caught = 0;
    for (let s = 0; s < 200; s++) if (!verifyRowChecksums(seedB, n, half, seededRandom(s)).ok) caught++;
    // 4 rows sampled: missed with probability ≈ 1/16.
    expect(caught).toBeGreaterThan(170);
  });
  it('samples distinct rows even from a degenerate generator', () => {
    const broken = honest.map((v, i) => (i === 1 ? `${v.split(':')[0]}:${'0'.repeat(16)}` : v));
    // random() ≡ 0 picks rows 0, 1, 2, 3 in turn; row 1 is caught.
    expect(verifyRowChecksums(seedB, n, broken, () => 0)).toMatchObject({ ok: false, failure: 'spot_check', row: 1 });
    expect(verifyRowChecksums(seedB, n, honest, () => 0.999999999)).toEqual({ ok: true });
  });
  it('digests bind the row contents', () => {
    const c = multiplyMod(a, b);
    const other = tamper(c, (d) => { d[5] = ((d[5] ?? 0) + 1) % FIELD_PRIME; });
    expect(rowChecksums(seedB, other)[0]?.split(':')[1]).not.toBe(honest[0]?.split(':')[1]);
    expect(rowChecksums(seedB, c)).toEqual(honest);
  });
});
