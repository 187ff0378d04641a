import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelayMs, DEFAULT_BACKOFF } from './backoff.ts';

describe('backoffDelayMs', () => {
  it('doubles the ceiling per attempt up to the cap', () => {
    const top = () => 0.999_999;
    expect([0, 1, 2, 3, 5, 6, 50, 1e9].map((n) => backoffDelayMs(n, top, DEFAULT_BACKOFF))).toEqual([
      499, 999, 1999, 3999, 15_999, 29_999, 29_999, 29_999,
    ]);
    expect(backoffDelayMs(5, () => 0, DEFAULT_BACKOFF)).toBe(0);
  });

  it('stays within [0, min(cap, base·2^n)) for any random value', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, r) => {
        const delay = backoffDelayMs(attempt, () => r, DEFAULT_BACKOFF);
        const ceiling = Math.min(DEFAULT_BACKOFF.capMs, DEFAULT_BACKOFF.baseMs * 2 ** attempt);
        return Number.isInteger(delay) && delay >= 0 && delay < ceiling;
      }),
    );
  });
});
