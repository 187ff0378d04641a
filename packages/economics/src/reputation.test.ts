import { describe, expect, it } from 'vitest';
import { parseIo } from '@idlegrid/domain';
import { ratioPpm, reputationScore, stakeRatioPpm, tierForScore, updateUptimeEwma, uptimeObservationPpm } from './index.ts';

const FULL = 1_000_000;
const req = parseIo('2000');

describe('tierForScore', () => {
  it.each([
    [0, 'bronze'], [599, 'bronze'], [600, 'silver'], [799, 'silver'], [800, 'gold'], [899, 'gold'], [900, 'platinum'], [1000, 'platinum'],
  ] as const)('%i → %s', (score, tier) => {
    expect(tierForScore(score)).toBe(tier);
  });
  it('refuses scores outside 0–1000', () => {
    for (const bad of [-1, 1001, 600.5, Number.NaN]) expect(() => tierForScore(bad)).toThrow(RangeError);
  });
});

describe('reputationScore', () => {
  it('weights 400/300/200/100 and rounds down once', () => {
    const all = { uptimeEwmaPpm: FULL, leaseCompletionPpm: FULL, verificationPassPpm: FULL, stake: req, stakeRequirement: req };
    expect(reputationScore(all)).toBe(1000);
    expect(reputationScore({ ...all, uptimeEwmaPpm: 0, leaseCompletionPpm: 0, verificationPassPpm: 0, stake: parseIo('0') })).toBe(0);
    // 400 × 0.9 + 300 × 1 + 200 × 0.5 + 100 × (1000/2000) = 360 + 300 + 100 + 50
    expect(reputationScore({ ...all, uptimeEwmaPpm: 900_000, verificationPassPpm: 500_000, stake: parseIo('1000') })).toBe(810);
    // one ppm short anywhere is not 1000
    expect(reputationScore({ ...all, uptimeEwmaPpm: 999_999 })).toBe(999);
    // stake above the requirement counts as 1
    expect(reputationScore({ ...all, stake: parseIo('1000000') })).toBe(1000);
  });
  it('lands exactly on tier boundaries', () => {
    const base = { leaseCompletionPpm: FULL, verificationPassPpm: FULL, stake: req, stakeRequirement: req };
    // 600 from the other three; uptime adds 400 × u.
    expect(tierForScore(reputationScore({ ...base, uptimeEwmaPpm: 0 }))).toBe('silver');
    expect(reputationScore({ ...base, uptimeEwmaPpm: 500_000 })).toBe(800);
    expect(reputationScore({ ...base, uptimeEwmaPpm: 499_999 })).toBe(799);
    expect(reputationScore({ ...base, uptimeEwmaPpm: 750_000 })).toBe(900);
    expect(reputationScore({ ...base, uptimeEwmaPpm: 749_999 })).toBe(899);
  });
  it('refuses ratios outside ppm', () => {
    expect(() => reputationScore({ uptimeEwmaPpm: FULL + 1, leaseCompletionPpm: 0, verificationPassPpm: 0, stake: req, stakeRequirement: req })).toThrow(RangeError);
  });
});

describe('ratios', () => {
  it('computes ppm ratios, capped, with an explicit value for no data', () => {
    expect(ratioPpm(1, 3, 0)).toBe(333_333);
    expect(ratioPpm(5, 3, 0)).toBe(FULL);
    expect(ratioPpm(0, 0, FULL)).toBe(FULL);
    expect(ratioPpm(0, 0, 0)).toBe(0);
    expect(stakeRatioPpm(parseIo('1'), parseIo('3'))).toBe(333_333);
    expect(stakeRatioPpm(parseIo('1'), parseIo('0'))).toBe(FULL);
    expect(uptimeObservationPpm(1800, 3600)).toBe(500_000);
    expect(uptimeObservationPpm(3700, 3600)).toBe(FULL);
  });
});

describe('updateUptimeEwma (30-day time constant)', () => {
  it('after 30 days of hourly epochs online from 0, is at 1 − 1/e ≈ 63 %', () => {
    let u = 0;
    for (let i = 0; i < 720; i++) u = updateUptimeEwma(u, FULL, 3600);
    expect(u).toBeGreaterThan(630_000);
    expect(u).toBeLessThan(634_000);
  });
  it('has a half-life of about 20.8 days whatever the epoch length', () => {
    for (const epochSeconds of [3600, 600]) {
      let u = FULL;
      let epochs = 0;
      while (u > FULL / 2) {
        u = updateUptimeEwma(u, 0, epochSeconds);
        epochs++;
      }
      const days = (epochs * epochSeconds) / 86_400;
      expect(days).toBeGreaterThan(20.5);
      expect(days).toBeLessThan(21.1);
    }
  });
  it('reaches a steady observation exactly and never overshoots', () => {
    let up = 0;
    let down = FULL;
    let monotone = true;
    for (let i = 0; i < 20_000; i++) {
      const nextUp = updateUptimeEwma(up, FULL, 3600);
      const nextDown = updateUptimeEwma(down, 250_000, 3600);
      monotone &&= nextUp >= up && nextUp <= FULL && nextDown <= down && nextDown >= 250_000;
      up = nextUp;
      down = nextDown;
    }
    expect(monotone).toBe(true);
    expect(up).toBe(FULL);
    expect(down).toBe(250_000);
    expect(updateUptimeEwma(123, 456, 40 * 86_400)).toBe(456); // an epoch longer than the window
    expect(updateUptimeEwma(500_000, 500_000, 3600)).toBe(500_000);
  });
});
