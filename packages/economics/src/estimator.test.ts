import { describe, expect, it } from 'vitest';
import { parseUsd } from '@idlegrid/domain';
import { DEFAULT_PARAMS, estimateSupplier, type NetworkFigures, type SupplierSetup } from './index.ts';

const network: NetworkFigures = { utilizationBps: 5000, gpusByModel: { H100: 99 }, params: DEFAULT_PARAMS, epochSeconds: 3600 };
const supplier: SupplierSetup = { model: 'H100', gpus: 1, tier: 'silver', pricePerGpuHour: parseUsd('2.00'), watts: 700, usdPerKwh: parseUsd('0.10') };

describe('estimateSupplier', () => {
  it('matches a hand-computed estimate', () => {
    // U = 0.5 → E = 60,000 IO: stipend pool 24,000, usage pool 36,000. The supplier is 1 of 100
    // identical H100s → 240 + 360 IO per epoch → 5,760 + 8,640 IO per day.
    // Leases: 2 USD × 24 h × 0.5 = 24 USD, less 2.5 % = 23.4 USD = 23.4 IO at 1 USD.
    // Power: 700 W × 24 h = 16.8 kWh × 0.10 USD = 1.68 USD.
    expect(estimateSupplier(network, supplier)).toEqual({
      io_per_day: '14423.4',
      usd_per_day: '14423.4',
      power_cost_usd_per_day: '1.68',
      profit_usd_per_day: '14421.72',
      stake_required_io: '2000',
      stipend_io_per_day: '5760',
      bonus_io_per_day: '8640',
      lease_io_per_day: '23.4',
      lease_usd_per_day: '23.4',
      emission_io_per_epoch: '60000',
      stipend_eligible: true,
    });
  });

  it('drops the stipend below 50 % uptime and scales the rest', () => {
    const e = estimateSupplier(network, { ...supplier, uptimeBps: 4000 });
    expect(e.stipend_eligible).toBe(false);
    expect(e.stipend_io_per_day).toBe('0');
    // own served weight 0.4 × 0.5 against 99 × 0.5: 36,000 IO × 2/497 × 24 per day.
    expect(e.bonus_io_per_day).toBe('3476.861167');
    // 2 × 24 × 0.4 × 0.5 = 9.6 USD, less 2.5 % = 9.36.
    expect(e.lease_usd_per_day).toBe('9.36');
  });

  it('values IO at the given price and reports a loss as a negative profit', () => {
    const poor = estimateSupplier(
      { utilizationBps: 0, gpusByModel: { H100: 10_000, cpu: 5 }, params: DEFAULT_PARAMS, epochSeconds: 3600, ioUsdPrice: parseUsd('0.001') },
      { model: 'cpu', gpus: 1, tier: 'bronze', pricePerGpuHour: parseUsd('0.01'), watts: 100, usdPerKwh: parseUsd('0.30') },
    );
    expect(poor.power_cost_usd_per_day).toBe('0.72');
    expect(poor.stake_required_io).toBe('20');
    expect(poor.profit_usd_per_day.startsWith('-')).toBe(true);
    expect(poor.lease_io_per_day).toBe('0');
  });

  it('refuses nonsense inputs', () => {
    expect(() => estimateSupplier({ ...network, utilizationBps: 10_001 }, supplier)).toThrow(RangeError);
    expect(() => estimateSupplier({ ...network, gpusByModel: { A100: -1 } }, supplier)).toThrow(RangeError);
    expect(() => estimateSupplier(network, { ...supplier, watts: 1.5 })).toThrow(RangeError);
  });
});
