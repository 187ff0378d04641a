import { describe, expect, it } from 'vitest';
import { GPU_MODELS } from '@idlegrid/domain';
import { checkTiming, EXPECTED_OPS_PER_SECOND, expectedMultiplyMs, recommendedChallengeN } from './index.ts';

describe('checkTiming', () => {
  it('knows a rate for every model, with any GPU far faster than the cpu class', () => {
    for (const model of GPU_MODELS) {
      expect(EXPECTED_OPS_PER_SECOND[model]).toBeGreaterThan(0);
      if (model !== 'cpu') expect(EXPECTED_OPS_PER_SECOND[model]).toBeGreaterThan(1e5 * EXPECTED_OPS_PER_SECOND.cpu);
    }
  });
  it('passes an H100 at H100 speed and fails one computing at CPU speed', () => {
    const n = recommendedChallengeN('H100');
    expect(expectedMultiplyMs('H100', n)).toBeCloseTo((2 * 8192 ** 3) / 4.5e14 * 1000, 9);
    expect(checkTiming('H100', n, 5)).toMatchObject({ ok: true });
    // A strong CPU with BLAS: 10¹¹ op/s → 11 s.
    const cpuMs = ((2 * n ** 3) / 1e11) * 1000;
    const verdict = checkTiming('H100', n, cpuMs);
    expect(verdict.ok).toBe(false);
    expect(verdict.ratio).toBeGreaterThan(1000);
  });
  it('passes the cpu class at plain-code speed, up to slack × expected + overhead', () => {
    const n = recommendedChallengeN('cpu');
    const expected = expectedMultiplyMs('cpu', n);
    expect(checkTiming('cpu', n, 70).ok).toBe(true);
    expect(checkTiming('cpu', n, expected * 3 + 250).ok).toBe(true);
    expect(checkTiming('cpu', n, expected * 3 + 251).ok).toBe(false);
    expect(checkTiming('cpu', n, expected * 1.5, { slack: 1, overheadMs: 0 }).ok).toBe(false);
  });
  it('refuses nonsense inputs', () => {
    expect(() => checkTiming('cpu', 0, 1)).toThrow(RangeError);
    expect(() => checkTiming('cpu', 8, -1)).toThrow(RangeError);
    expect(() => checkTiming('cpu', 8, Number.NaN)).toThrow(RangeError);
    expect(() => checkTiming('cpu', 8, 1, { slack: 0.5 })).toThrow(RangeError);
  });
});
