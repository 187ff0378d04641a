import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { microIo, toAddress, toDeviceId, type Tier } from '@idlegrid/domain';
import { DEFAULT_PARAMS } from '@idlegrid/economics';
import { generateKeypair } from '@idlegrid/protocol';
import { mintsOf, planEpoch, uptimeInEpoch, type EpochDeviceInput } from './epoch-plan.ts';

const EPOCH = { idx: 7, startMs: 1_000_000, endMs: 1_060_000 };
const ids = Array.from({ length: 12 }, () => toDeviceId(generateKeypair().address));
const wallets = Array.from({ length: 4 }, () => toAddress(generateKeypair().address));
const TIERS: Tier[] = ['bronze', 'silver', 'gold', 'platinum'];

const deviceArb = (i: number) =>
  fc.record({
    verified: fc.boolean(),
    stakeIo: fc.bigInt({ min: 0n, max: 5_000_000_000n }),
    onlineMsNow: fc.integer({ min: 0, max: 10_000_000 }),
    mark: fc.option(fc.integer({ min: 0, max: 10_000_000 }), { nil: null }),
    served: fc.integer({ min: 0, max: 200 }),
    gpus: fc.integer({ min: 1, max: 8 }),
    model: fc.constantFrom('cpu', 'H100', 'A100', 'RTX4090'),
    tier: fc.constantFrom(...TIERS),
    wallet: fc.integer({ min: 0, max: wallets.length - 1 }),
  }).map((d): EpochDeviceInput => ({
    deviceId: ids[i]!, payout: wallets[d.wallet]!, model: d.model, gpus: d.gpus, verified: d.verified, stake: microIo(d.stakeIo),
    onlineMsNow: d.onlineMsNow, servedGpuSeconds: d.served, tier: d.tier,
    reputation: d.mark === null ? null : { deviceId: ids[i]!, onlineMsMark: d.mark, uptimeEwmaPpm: 500_000, epochsObserved: 3, updatedEpoch: 6 },
    nodesCompleted: 0, nodesEnded: 0, verificationsPassed: d.verified ? 1 : 0, verificationsJudged: 1,
  }));

describe('planEpoch', () => {
  it('property: Σ stipends + Σ bonuses + treasury = the emission, the mints pay exactly the rewards, every device gets a standing', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: ids.length }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => deviceArb(i)))), (devices) => {
        const plan = planEpoch(EPOCH, devices, DEFAULT_PARAMS);
        const rewarded = plan.rewards.reduce((s, r) => s + r.stipendIo + r.bonusIo, 0n);
        expect(rewarded + plan.figures.treasuryIo).toBe(plan.figures.emissionIo);
        expect(mintsOf(plan.rewards).reduce((s, m) => s + m.amount, 0n)).toBe(rewarded);
        expect(plan.standings).toHaveLength(devices.length);
        expect(plan.reputation.every((r) => r.updatedEpoch === EPOCH.idx)).toBe(true);
        expect(plan.figures.servedGpuSeconds).toBe(plan.rewards.reduce((s, r) => s + r.servedGpuSeconds, 0));
        for (const r of plan.rewards) if (!r.verified) expect(r.stipendIo + r.bonusIo).toBe(0n);
      }),
      { numRuns: 200 },
    );
  });

  it('is deterministic whatever the input order (devices are sorted by id)', () => {
    const devices = fc.sample(fc.tuple(deviceArb(0), deviceArb(1), deviceArb(2)), 1)[0]!;
    const a = planEpoch(EPOCH, devices, DEFAULT_PARAMS);
    const b = planEpoch(EPOCH, [...devices].reverse(), DEFAULT_PARAMS);
    expect(b.figures.merkleRoot).toBe(a.figures.merkleRoot);
    expect(b.rewards).toEqual(a.rewards);
  });

  it('measures uptime from the last close\'s mark, capped at the epoch', () => {
    expect(uptimeInEpoch({ onlineMsNow: 90_000, reputation: { deviceId: ids[0]!, onlineMsMark: 60_000, uptimeEwmaPpm: 0, epochsObserved: 1, updatedEpoch: 0 } }, 60_000)).toBe(30);
    expect(uptimeInEpoch({ onlineMsNow: 500_000, reputation: null }, 60_000)).toBe(60);
    expect(uptimeInEpoch({ onlineMsNow: 10_000, reputation: { deviceId: ids[0]!, onlineMsMark: 20_000, uptimeEwmaPpm: 0, epochsObserved: 1, updatedEpoch: 0 } }, 60_000)).toBe(0);
  });
});
