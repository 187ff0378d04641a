import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GPU_MODELS, microIo, parseIo, TIERS, type DeviceId, type MicroIo } from '@idlegrid/domain';
import { DEFAULT_PARAMS, splitEpochRewards, stakeRequirement, type RewardDevice, type RewardEpoch } from './index.ts';

const EPOCH = 3600;
const id = (s: string) => s as DeviceId;

function device(over: Partial<RewardDevice> & { deviceId: DeviceId }): RewardDevice {
  return {
    model: 'H100', gpus: 1, verified: true, stake: parseIo('2000'), uptimeSeconds: EPOCH, servedGpuSeconds: 0, tier: 'silver',
    ...over,
  };
}

function epoch(emission: bigint, stipendShareBps = 4000): RewardEpoch {
  return { epochSeconds: EPOCH, emission: microIo(emission), params: { stipend_share_bps: stipendShareBps, stake_per_gpu: DEFAULT_PARAMS.stake_per_gpu } };
}

function total(r: ReturnType<typeof splitEpochRewards>): bigint {
  return r.devices.reduce((s, d) => s + d.stipend + d.bonus, 0n) + r.treasury;
}

describe('stake requirement', () => {
  it('is stake_per_gpu × class weight × GPUs', () => {
    const per = DEFAULT_PARAMS.stake_per_gpu;
    expect(stakeRequirement('H100', 1, per)).toBe(parseIo('2000'));
    expect(stakeRequirement('H200', 8, per)).toBe(parseIo('16000'));
    expect(stakeRequirement('A100', 1, per)).toBe(parseIo('1200'));
    expect(stakeRequirement('L40S', 1, per)).toBe(parseIo('800'));
    expect(stakeRequirement('RTX4090', 1, per)).toBe(parseIo('500'));
    expect(stakeRequirement('T4', 1, per)).toBe(parseIo('200'));
    expect(stakeRequirement('cpu', 1, per)).toBe(parseIo('20'));
    // rounded up: 1 base unit × 0.1 → 1
    expect(stakeRequirement('cpu', 1, microIo(1n))).toBe(1n);
  });
});

describe('splitEpochRewards', () => {
  it('matches a hand-computed split', () => {
    // E = 1 IO: stipend pool 400,000, usage pool 600,000.
    // stipend weights: d1 1×100×3600×100 = 36,000,000; d2 2×60×1800×115 = 24,840,000 (uptime exactly 50 %).
    const r = splitEpochRewards([
      device({ deviceId: id('d1'), servedGpuSeconds: 1800 }),
      device({ deviceId: id('d2'), model: 'A100', gpus: 2, stake: parseIo('2400'), uptimeSeconds: 1800, tier: 'gold' }),
      device({ deviceId: id('d3'), model: 'cpu', verified: false, stake: parseIo('20'), servedGpuSeconds: 100 }),
    ], epoch(1_000_000n));
    expect(r.stipendPool).toBe(400_000n);
    expect(r.usagePool).toBe(600_000n);
    expect(r.devices).toEqual([
      { deviceId: 'd1', stipend: 236_686n, bonus: 600_000n, ineligible: [] }, // 400000 × 36/60.84 = 236686.39
      { deviceId: 'd2', stipend: 163_313n, bonus: 0n, ineligible: [] }, //       400000 × 24.84/60.84 = 163313.61
      { deviceId: 'd3', stipend: 0n, bonus: 0n, ineligible: ['unverified'] },
    ]);
    expect(r.treasury).toBe(1n);
  });

  it('applies every eligibility rule', () => {
    const r = splitEpochRewards([
      device({ deviceId: id('ok'), servedGpuSeconds: 10 }),
      device({ deviceId: id('unverified'), verified: false, servedGpuSeconds: 10 }),
      device({ deviceId: id('understaked'), stake: parseIo('1999.999999'), servedGpuSeconds: 10 }),
      device({ deviceId: id('late'), uptimeSeconds: 1799, servedGpuSeconds: 10 }),
    ], epoch(parseIo('100000')));
    const byId = new Map(r.devices.map((d) => [d.deviceId as string, d]));
    expect(byId.get('ok')?.ineligible).toEqual([]);
    expect(byId.get('unverified')?.ineligible).toEqual(['unverified']);
    expect(byId.get('understaked')?.ineligible).toEqual(['under_staked']);
    expect(byId.get('late')?.ineligible).toEqual(['low_uptime']);
    expect(byId.get('ok')?.stipend).toBe(r.stipendPool); // the only eligible one
    for (const bad of ['unverified', 'understaked']) expect(byId.get(bad)).toMatchObject({ stipend: 0n, bonus: 0n });
    // low uptime loses the stipend but keeps the usage bonus it served for: half of the pool each.
    expect(byId.get('late')).toMatchObject({ stipend: 0n, bonus: r.usagePool / 2n });
    expect(total(r)).toBe(parseIo('100000'));
  });

  it('sends a pool nobody qualifies for to treasury', () => {
    const r = splitEpochRewards([device({ deviceId: id('a'), servedGpuSeconds: 0 })], epoch(1_000_001n));
    expect(r.devices[0]).toMatchObject({ stipend: 400_000n, bonus: 0n });
    expect(r.treasury).toBe(600_001n);
    expect(splitEpochRewards([], epoch(5n)).treasury).toBe(5n);
  });

  it('weights by class, tier, uptime and caps uptime and served seconds', () => {
    const r = splitEpochRewards([
      device({ deviceId: id('h100'), servedGpuSeconds: 999_999 }), // capped at 1 × 3600
      device({ deviceId: id('rtx'), model: 'RTX4090', stake: parseIo('500'), tier: 'platinum', uptimeSeconds: 99_999, servedGpuSeconds: 3600 }),
    ], epoch(10_000_000_000n, 5000));
    // stipend 100 : 25 × 1.3 = 32.5 → 100/132.5 and 32.5/132.5 of 5,000,000,000; bonus the same ratio.
    expect(r.devices[0]?.stipend).toBe(3_773_584_905n);
    expect(r.devices[1]?.stipend).toBe(1_226_415_094n);
    expect(r.devices[0]?.bonus).toBe(r.devices[0]?.stipend);
    expect(total(r)).toBe(10_000_000_000n);
  });

  it('refuses duplicate devices and bad numbers', () => {
    expect(() => splitEpochRewards([device({ deviceId: id('a') }), device({ deviceId: id('a') })], epoch(1n))).toThrow(/twice/);
    expect(() => splitEpochRewards([device({ deviceId: id('a'), uptimeSeconds: -1 })], epoch(1n))).toThrow(RangeError);
    expect(() => splitEpochRewards([], { ...epoch(1n), epochSeconds: 0 })).toThrow(RangeError);
  });

  const deviceArb = (i: number): fc.Arbitrary<RewardDevice> =>
    fc.record({
      deviceId: fc.constant(id(`d${i}`)),
      model: fc.constantFrom(...GPU_MODELS),
      gpus: fc.integer({ min: 0, max: 8 }),
      verified: fc.boolean(),
      stake: fc.bigInt({ min: 0n, max: parseIo('20000') }).map((s) => s as MicroIo),
      uptimeSeconds: fc.integer({ min: 0, max: EPOCH + 100 }),
      servedGpuSeconds: fc.integer({ min: 0, max: 9 * EPOCH }),
      tier: fc.constantFrom(...TIERS),
    });
  const devicesArb = fc.integer({ min: 0, max: 25 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => deviceArb(i))));

  it('property: Σ stipends + Σ bonuses + treasury = E exactly, for any devices', () => {
    fc.assert(
      fc.property(devicesArb, fc.bigInt({ min: 0n, max: 10n ** 15n }), fc.integer({ min: 0, max: 10_000 }), (devices, e, bps) => {
        const r = splitEpochRewards(devices, epoch(e, bps));
        expect(total(r)).toBe(e);
        expect(r.stipendPool + r.usagePool).toBe(e);
        expect(r.treasury >= 0n).toBe(true);
        for (const d of r.devices) {
          expect(d.stipend >= 0n && d.bonus >= 0n).toBe(true);
          if (d.ineligible.length > 0) expect(d.stipend).toBe(0n);
        }
        // Deterministic and order-independent: the reversed input pays every device the same.
        const reversed = splitEpochRewards([...devices].reverse(), epoch(e, bps));
        expect(reversed.treasury).toBe(r.treasury);
        const again = new Map(reversed.devices.map((d) => [d.deviceId, d]));
        for (const d of r.devices) expect(again.get(d.deviceId)).toEqual(d);
        // Integer division leaves less than one base unit per paid device and pool.
        const stipended = r.devices.filter((d) => d.ineligible.length === 0).length;
        if (stipended > 0 && r.devices.some((d) => d.stipend > 0n)) {
          expect(r.treasury).toBeLessThanOrEqual(r.usagePool + BigInt(stipended));
        }
      }),
      { numRuns: 300 },
    );
  });
});
