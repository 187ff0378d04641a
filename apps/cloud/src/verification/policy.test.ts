import { describe, expect, it } from 'vitest';
import { seededRandom } from '@idlegrid/domain';
import { challengeLimits, judgeAnswer, nextChallengeDelayMs, type AnswerFacts } from './policy.ts';

const ok = { ok: true } as const;
const base: AnswerFacts = { model: 'H100', n: 2048, elapsedMs: 1, roundTripMs: 800, allowanceMs: 5_000, checksums: ok };

describe('proof-of-GPU policy', () => {
  it('passes a right answer in time', () => {
    expect(judgeAnswer(base)).toMatchObject({ ok: true });
  });

  it('fails wrong checksums before looking at the time', () => {
    const j = judgeAnswer({ ...base, elapsedMs: 10_000, checksums: { ok: false, failure: 'freivalds', row: 7, detail: 'row sketch differs' } });
    expect(j).toMatchObject({ ok: false, reason: 'freivalds' });
    if (!j.ok) expect(j.detail).toContain('row 7');
  });

  it('fails an H100 that multiplies at CPU speed, with the limit in the detail', () => {
    const { limitMs } = challengeLimits('H100', 2048, 5_000);
    const j = judgeAnswer({ ...base, elapsedMs: 188 });
    expect(j).toMatchObject({ ok: false, reason: 'too_slow', limitMs });
    expect(limitMs).toBeLessThan(100);
  });

  it('fails an under-reported time the server saw was long', () => {
    const { limitMs } = challengeLimits('H100', 2048, 5_000);
    expect(judgeAnswer({ ...base, roundTripMs: limitMs + 5_001 })).toMatchObject({ ok: false, reason: 'round_trip' });
    expect(judgeAnswer({ ...base, roundTripMs: limitMs + 4_999 })).toMatchObject({ ok: true });
  });

  it('is lax with the cpu class: 256 in 10 s still passes', () => {
    expect(judgeAnswer({ ...base, model: 'cpu', n: 256, elapsedMs: 10_000, roundTripMs: 20_000, allowanceMs: 30_000 })).toMatchObject({ ok: true });
    expect(judgeAnswer({ ...base, model: 'cpu', n: 256, elapsedMs: 60_000, roundTripMs: 61_000, allowanceMs: 30_000 })).toMatchObject({ ok: false, reason: 'too_slow' });
  });

  it('the deadline is the limit plus the allowance', () => {
    const { limitMs, deadlineMs } = challengeLimits('cpu', 256, 30_000);
    expect(deadlineMs).toBe(Math.ceil(limitMs + 30_000));
  });

  it('draws re-challenge delays with the configured mean (exponential)', () => {
    const random = seededRandom(11);
    const draws = Array.from({ length: 20_000 }, () => nextChallengeDelayMs(100, random));
    const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
    expect(mean).toBeGreaterThan(95_000);
    expect(mean).toBeLessThan(105_000);
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(1);
    expect(nextChallengeDelayMs(100, () => 0.999_999_999_999)).toBeGreaterThan(100_000);
  });
});
