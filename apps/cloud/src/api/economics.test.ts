import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { manualClock, seededRandom, type DeviceId, type GpuModel, type LeaseId, type Tier } from '@idlegrid/domain';
import { estimateResponseSchema, paramsResponseSchema, type EstimateResponse, type ParamsResponse } from '@idlegrid/protocol';
import { openStore, type MeterRecord, type Store } from '@idlegrid/store';
import { createCloudApp, type CloudApp } from '../app.ts';
import { loadCloudConfig, type CloudConfigInput } from '../config.ts';
import { FakeInspector } from '../testing/fake-inspector.ts';
import { liveDevice } from '../testing/live-device.ts';

const NOW = 1_700_000_000_000;
const HOUR = 3_600_000;
const stores: Store[] = [];

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

async function makeCloud(config: Partial<CloudConfigInput> = {}): Promise<{ cloud: CloudApp; store: Store }> {
  const store = await openStore({ kind: 'sqlite', path: ':memory:' });
  stores.push(store);
  const cloud = createCloudApp({
    config: loadCloudConfig({}, config), store, clock: manualClock(NOW), random: seededRandom(1), logger: pino({ level: 'silent' }), inspector: new FakeInspector(),
  });
  return { cloud, store };
}

function connect(cloud: CloudApp, o: { model: GpuModel; slots: number; price?: bigint; tier?: Tier }): DeviceId {
  const d = { ...liveDevice({ slots: o.slots, price: o.price ?? 2_000_000n }), gpuModel: o.model, tier: o.tier ?? 'silver' };
  cloud.registry.connect(d);
  return d.id;
}

async function get(cloud: CloudApp, path: string): Promise<{ status: number; json: unknown }> {
  const res = await cloud.app.request(path);
  return { status: res.status, json: await res.json() };
}

async function estimate(cloud: CloudApp, query: string): Promise<EstimateResponse> {
  const { status, json } = await get(cloud, `/v1/estimate?${query}`);
  expect(status, JSON.stringify(json)).toBe(200);
  return estimateResponseSchema.parse(json);
}

/** Writes a settlement batch cut at `cutoffMs` with one meter record per interval. */
async function meter(store: Store, cutoffMs: number, intervals: Array<{ fromMs: number; toMs: number; slots: number }>): Promise<void> {
  const id = `stl-${cutoffMs}`;
  const device = liveDevice().id;
  const records: MeterRecord[] = intervals.map((r, idx) => ({
    batchId: id, idx, leaseId: `lease-${idx}` as LeaseId, nodeId: 1000 + idx, deviceId: device, payout: device,
    fromMs: r.fromMs, toMs: r.toMs, seconds: (r.toMs - r.fromMs) / 1000, slots: r.slots, pricePerGpuHour: 1_000_000n, grossIo: 1n, feeIo: 0n,
  }));
  const created = await store.settlement.createBatch({
    batch: { id, cutoffMs, merkleRoot: 'root', memo: `idlegrid:settle:${id}:root`, records: records.length, grossIo: 0n, feeIo: 0n, burnIo: 0n, treasuryIo: 0n, createdAtMs: cutoffMs },
    records,
  });
  expect(created).toBe(true);
}

describe('GET /v1/params', () => {
  it('lists every parameter in force with its default and bounds, and an empty history', async () => {
    const { cloud } = await makeCloud();
    const { status, json } = await get(cloud, '/v1/params');
    expect(status).toBe(200);
    const body: ParamsResponse = paramsResponseSchema.parse(json);
    expect(body.history).toEqual([]);
    expect(body.params.map((p) => p.name)).toEqual([
      'protocol_fee_bps', 'fee_burn_share_bps', 'usdc_conversion_fee_bps', 'io_usd_reference_price', 'emission_max_per_epoch', 'emission_floor_bps',
      'stipend_share_bps', 'stake_per_gpu', 'unstake_cooldown_hours', 'slash_abandon_bps', 'slash_fraud_bps',
    ]);
    const byName = new Map(body.params.map((p) => [p.name, p]));
    expect(byName.get('protocol_fee_bps')).toMatchObject({ kind: 'bps', value: '250', default: '250', min: '0', max: '5000', unit: 'bps', source: 'config', inBounds: true });
    expect(byName.get('io_usd_reference_price')).toMatchObject({ kind: 'micro_usd', value: '1', default: '1', min: '0.0001', max: '10000', unit: 'USD per IO', source: 'config' });
    expect(byName.get('emission_max_per_epoch')).toMatchObject({ value: '100000', min: '0', max: '1000000', unit: 'IO', source: 'default' });
    expect(byName.get('stake_per_gpu')).toMatchObject({ value: '200', min: '1', max: '100000' });
    expect(byName.get('unstake_cooldown_hours')).toMatchObject({ kind: 'hours', value: '336', min: '24', max: '2160' });
    expect(byName.get('slash_fraud_bps')).toMatchObject({ value: '10000', min: '1000', max: '10000', source: 'default' });
    for (const p of body.params) expect(p.description.length).toBeGreaterThan(10);
  });

  it("takes the control plane's configured fees and price, and says when one is outside the governance bounds", async () => {
    const { cloud } = await makeCloud({ protocolFeeBps: 300, feeBurnShareBps: 2500, usdcConversionFeeBps: 500, ioUsdReferencePrice: '0.25' });
    const body = paramsResponseSchema.parse((await get(cloud, '/v1/params')).json);
    const byName = new Map(body.params.map((p) => [p.name, p]));
    expect(byName.get('protocol_fee_bps')).toMatchObject({ value: '300', default: '250', inBounds: true });
    expect(byName.get('fee_burn_share_bps')).toMatchObject({ value: '2500', default: '5000' });
    expect(byName.get('io_usd_reference_price')).toMatchObject({ value: '0.25', default: '1' });
    expect(byName.get('usdc_conversion_fee_bps')).toMatchObject({ value: '500', max: '1000', inBounds: true });
    // The config takes any positive reference price; governance bounds it to 10,000 USD per IO.
    const { cloud: dear } = await makeCloud({ ioUsdReferencePrice: '20000' });
    const price = paramsResponseSchema.parse((await get(dear, '/v1/params')).json).params.find((p) => p.name === 'io_usd_reference_price');
    expect(price).toMatchObject({ value: '20000', inBounds: false });
  });

  it('is in the OpenAPI document, public', async () => {
    const { cloud } = await makeCloud();
    const paths = cloud.openapi['paths'] as Record<string, Record<string, { security?: unknown; summary: string }>>;
    expect(paths['/v1/params']?.['get']?.security).toBeUndefined();
    expect(paths['/v1/params']?.['get']?.summary).toMatch(/governance/);
    expect(paths['/v1/estimate']?.['get']).toBeDefined();
  });
});

describe('GET /v1/estimate', () => {
  it('estimates from the online devices of the class: a hand-computed case on an idle network', async () => {
    const { cloud } = await makeCloud();
    connect(cloud, { model: 'H100', slots: 4 });
    connect(cloud, { model: 'H100', slots: 6 });
    connect(cloud, { model: 'cpu', slots: 1 });
    const r = await estimate(cloud, 'gpu=h100&count=1&powerCost=0.10&price=2.00&tier=silver');
    expect(r.gpu).toBe('H100');
    expect(r.inputs).toEqual({ powerCostUsdPerKwh: '0.1', watts: 700, wattsSource: 'default', pricePerGpuHour: '2', priceSource: 'query' });
    expect(r.network).toMatchObject({
      models: [{ gpuModel: 'H100', devices: 2, slots: 10 }, { gpuModel: 'cpu', devices: 1, slots: 1 }],
      devicesOnline: 3, servedGpuSeconds: 0, availableGpuSeconds: 11 * 3600, utilizationBps: 0, epochSeconds: 3600, averageTierX100: 100, ioUsdPrice: '1',
    });
    // U = 0 → E = 20% of 100,000 = 20,000 IO per epoch; stipend pool 40% = 8,000. Class weights ×10:
    // the network is 10 H100 × 100 + 1 cpu × 1 = 1001, the supplier 100 → 8,000 × 100/1101 × 24 per day.
    // No usage bonus and no lease income at U = 0. Power: 700 W × 24 h × 0.10 = 1.68 USD.
    expect(r.estimate).toMatchObject({
      emission_io_per_epoch: '20000',
      stipend_io_per_day: '17438.692098',
      bonus_io_per_day: '0',
      lease_io_per_day: '0',
      io_per_day: '17438.692098',
      usd_per_day: '17438.692098',
      power_cost_usd_per_day: '1.68',
      profit_usd_per_day: '17437.012098',
      stake_required_io: '2000',
      stipend_eligible: true,
    });
    expect(r.profitable).toBe(true);
  });

  it('pays less when more devices of the class are online, and profits less when power costs more', async () => {
    const { cloud } = await makeCloud();
    connect(cloud, { model: 'A100', slots: 2 });
    const before = await estimate(cloud, 'gpu=A100&count=2&powerCost=0.10');
    expect(before.inputs.watts).toBe(800);
    connect(cloud, { model: 'A100', slots: 8 });
    const after = await estimate(cloud, 'gpu=A100&count=2&powerCost=0.10');
    expect(Number(after.estimate.io_per_day)).toBeLessThan(Number(before.estimate.io_per_day));
    const dearPower = await estimate(cloud, 'gpu=A100&count=2&powerCost=0.50');
    expect(dearPower.estimate.io_per_day).toBe(after.estimate.io_per_day);
    expect(dearPower.estimate.power_cost_usd_per_day).toBe('9.6'); // 800 W × 24 h × 0.50
    expect(Number(dearPower.estimate.profit_usd_per_day)).toBeLessThan(Number(after.estimate.profit_usd_per_day));
    const measured = await estimate(cloud, 'gpu=A100&count=2&powerCost=0.50&watts=1200');
    expect(measured.inputs).toMatchObject({ watts: 1200, wattsSource: 'query' });
    expect(measured.estimate.power_cost_usd_per_day).toBe('14.4');
  });

  it("measures utilization from the last hour's meter records, clipped to the window", async () => {
    const { cloud, store } = await makeCloud();
    connect(cloud, { model: 'H100', slots: 4 });
    connect(cloud, { model: 'H100', slots: 6 });
    await meter(store, NOW - 2 * HOUR, [{ fromMs: NOW - 3 * HOUR, toMs: NOW - 2 * HOUR, slots: 8 }]); // before the window: ignored
    await meter(store, NOW - 50 * 60_000, [{ fromMs: NOW - HOUR - 600_000, toMs: NOW - HOUR + 600_000, slots: 2 }]); // 600 s inside × 2
    await meter(store, NOW - 60_000, [{ fromMs: NOW - 1_800_000, toMs: NOW - 600_000, slots: 4 }]); // 1,200 s × 4
    const r = await estimate(cloud, 'gpu=H100&powerCost=0.10&price=2.00&tier=silver');
    // served 1,200 + 4,800 = 6,000 GPU-s of 10 slots × 3,600 = 36,000 → U = 16.66 % (floored to 1666 bps).
    expect(r.network).toMatchObject({ servedGpuSeconds: 6000, availableGpuSeconds: 36_000, utilizationBps: 1666 });
    // E = 100,000 × (0.2 + 0.8 × 0.1666) = 33,328 IO.
    expect(r.estimate.emission_io_per_epoch).toBe('33328');
    // Leases: 2 USD × 24 h × 0.1666 = 7.9968 USD, less 2.5 % = 7.79688.
    expect(r.estimate.lease_usd_per_day).toBe('7.79688');
    expect(Number(r.estimate.bonus_io_per_day)).toBeGreaterThan(0);

    const pricier = await estimate(cloud, 'gpu=H100&powerCost=0.10&price=4.00&tier=silver');
    expect(Number(pricier.estimate.lease_usd_per_day)).toBeGreaterThan(Number(r.estimate.lease_usd_per_day));
  });

  it("defaults the price to the median asked by online devices of the model, else none", async () => {
    const { cloud } = await makeCloud();
    connect(cloud, { model: 'RTX4090', slots: 1, price: 300_000n });
    connect(cloud, { model: 'RTX4090', slots: 1, price: 500_000n });
    connect(cloud, { model: 'RTX4090', slots: 1, price: 400_000n });
    const r = await estimate(cloud, 'gpu=NVIDIA%20GeForce%20RTX%204090');
    expect(r.gpu).toBe('RTX4090');
    expect(r.inputs).toMatchObject({ pricePerGpuHour: '0.4', priceSource: 'market_median', powerCostUsdPerKwh: '0.15', watts: 450 });
    expect(r.tier).toBe('bronze');
    const none = await estimate(cloud, 'gpu=L40S');
    expect(none.inputs).toMatchObject({ pricePerGpuHour: '0', priceSource: 'none', watts: 350 });
  });

  it('answers on an empty network, and says no-go when power costs more than it earns', async () => {
    const { cloud } = await makeCloud();
    const alone = await estimate(cloud, 'gpu=cpu');
    expect(alone.network).toMatchObject({ models: [], devicesOnline: 0, availableGpuSeconds: 0, utilizationBps: 0, averageTierX100: 100 });
    expect(alone.inputs.watts).toBe(65);
    const crowded = await makeCloud({ ioUsdReferencePrice: '0.0001' });
    connect(crowded.cloud, { model: 'H100', slots: 64 });
    const poor = await estimate(crowded.cloud, 'gpu=cpu&powerCost=1.00&watts=500');
    expect(poor.profitable).toBe(false);
    expect(poor.estimate.profit_usd_per_day.startsWith('-')).toBe(true);
    expect(poor.network.ioUsdPrice).toBe('0.0001');
  });

  it.each([
    ['gpu=B9000', 'UNKNOWN_GPU_MODEL'],
    ['', 'VALIDATION_FAILED'],
    ['gpu=H100&count=0', 'VALIDATION_FAILED'],
    ['gpu=H100&count=65', 'VALIDATION_FAILED'],
    ['gpu=H100&powerCost=-1', 'VALIDATION_FAILED'],
    ['gpu=H100&watts=1.5', 'VALIDATION_FAILED'],
    ['gpu=H100&price=abc', 'VALIDATION_FAILED'],
    ['gpu=H100&tier=diamond', 'VALIDATION_FAILED'],
  ])('refuses ?%s with %s', async (query, code) => {
    const { cloud } = await makeCloud();
    const { status, json } = await get(cloud, `/v1/estimate?${query}`);
    expect(status).toBe(400);
    expect((json as { error: { code: string } }).error.code).toBe(code);
  });
});
