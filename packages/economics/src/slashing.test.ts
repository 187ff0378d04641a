import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { microIo, parseIo } from '@idlegrid/domain';
import { DEFAULT_PARAMS, slash } from './index.ts';

describe('slash', () => {
  it('abandoning takes 5 %: half to the buyer, half burned', () => {
    expect(slash(parseIo('2000'), 'abandon', DEFAULT_PARAMS)).toEqual({
      slashed: parseIo('100'), toBuyer: parseIo('50'), burned: parseIo('50'), remainingStake: parseIo('1900'),
    });
  });
  it('fraud takes everything; an odd base unit is burned', () => {
    expect(slash(microIo(201n), 'fraud', DEFAULT_PARAMS)).toEqual({ slashed: 201n, toBuyer: 100n, burned: 101n, remainingStake: 0n });
  });
  it('rounds the slashed amount down', () => {
    // 21 × 500 / 10000 = 1.05 → 1; the odd unit is burned.
    expect(slash(microIo(21n), 'abandon', DEFAULT_PARAMS)).toEqual({ slashed: 1n, toBuyer: 0n, burned: 1n, remainingStake: 20n });
    expect(slash(microIo(0n), 'fraud', DEFAULT_PARAMS)).toEqual({ slashed: 0n, toBuyer: 0n, burned: 0n, remainingStake: 0n });
  });
  it('burns it all when no buyer was affected', () => {
    expect(slash(parseIo('2000'), 'fraud', DEFAULT_PARAMS, { affectedBuyer: false })).toEqual({
      slashed: parseIo('2000'), toBuyer: 0n, burned: parseIo('2000'), remainingStake: 0n,
    });
  });
  it('property: buyer + burned = slashed, slashed + remaining = stake, buyer ≤ burned ≤ buyer + 1', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 18n }), fc.integer({ min: 0, max: 10_000 }), fc.boolean(), (stake, bps, abandon) => {
        const params = { slash_abandon_bps: bps, slash_fraud_bps: bps };
        const s = slash(microIo(stake), abandon ? 'abandon' : 'fraud', params);
        expect(s.toBuyer + s.burned).toBe(s.slashed);
        expect(s.slashed + s.remainingStake).toBe(stake);
        expect(s.slashed).toBe((stake * BigInt(bps)) / 10_000n);
        expect(s.burned - s.toBuyer === 0n || s.burned - s.toBuyer === 1n).toBe(true);
      }),
    );
  });
});
