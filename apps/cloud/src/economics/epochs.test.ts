import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEmbeddedLedger, signerFromSeed, type EmbeddedLedger } from '@idlegrid/chain';
import { manualClock, microIo, microUsd, toAddress, type Address, type DeviceId, type MicroIo, type RegionId } from '@idlegrid/domain';
import { DEFAULT_PARAMS, epochEmission, type Params } from '@idlegrid/economics';
import { generateKeypair, merkleRoot, rewardLeafHash } from '@idlegrid/protocol';
import { openStore, type Store } from '@idlegrid/store';
import { Settler } from '../settlement/settler.ts';
import { storeIdempotency } from '../settlement/store-idempotency.ts';
import { seedLease } from '../testing/settlement-fixture.ts';
import { CPU_HARDWARE } from '../testing/test-agent.ts';
import { rewardLeaf } from './epoch-plan.ts';
import { EpochService, type EpochServiceOptions } from './epochs.ts';

const T0 = 1_800_000_000_000;
const EPOCH_S = 60;
const IO = 1_000_000n;
const clock = manualClock(T0);
const wallet = (): Address => toAddress(generateKeypair().address);

let store: Store;
let ledger: EmbeddedLedger;
let services: EpochService[] = [];

interface Supplier { device: DeviceId; payout: Address }
const busy: Supplier = { device: wallet(), payout: wallet() };
const idle: Supplier = { device: wallet(), payout: wallet() };
const unstaked: Supplier = { device: wallet(), payout: wallet() };
const stakes = new Map<DeviceId, MicroIo>([[busy.device, microIo(1_000n * IO)], [idle.device, microIo(1_000n * IO)]]);

function service(extra: Partial<EpochServiceOptions> = {}, params: Params = DEFAULT_PARAMS): EpochService {
  const s = new EpochService({
    store, ledger, clock, logger: pino({ level: 'silent' }), epochSeconds: EPOCH_S, params: () => params,
    stakeOf: (id) => Promise.resolve(stakes.get(id) ?? microIo(0n)), ...extra,
  });
  services.push(s);
  return s;
}

async function connect(s: Supplier): Promise<void> {
  await store.devices.upsertOnHello({
    id: s.device, hardware: CPU_HARDWARE, gpuModel: 'cpu', gpuCount: 1, region: 'local' as RegionId, pricePerGpuHour: microUsd(3_600_000n),
    payout: s.payout, agentVersion: 'test', nowMs: clock.now(),
  });
  await store.devices.updateStanding(s.device, { verified: true });
}

async function seen(atMs: number): Promise<void> {
  await store.devices.markSeenBatch([busy, idle, unstaked].map((s) => ({ id: s.device, lastSeenMs: atMs })));
}

beforeEach(async () => {
  clock.set(T0);
  services = [];
  store = await openStore({ kind: 'sqlite', path: ':memory:' });
  ledger = await openEmbeddedLedger({ dataDir: null, clock, idempotency: storeIdempotency(store) });
  await ledger.bootstrap();
});

afterEach(async () => {
  for (const s of services) await s.stop();
  await ledger.close();
  await store.close();
});

describe('reward epochs', () => {
  it('closes an epoch into stipends, bonuses and a treasury remainder that sum to the emission, and mints exactly them once', async () => {
    for (const s of [busy, idle, unstaked]) await connect(s);
    const epochs = service();
    expect(await epochs.tick()).toEqual({ closed: [], minted: [] });
    expect(await store.epochs.open()).toMatchObject({ idx: 0, startMs: T0, endMs: T0 + EPOCH_S * 1000 });

    // The busy device serves a lease for 30 s of the epoch; settlement records it in a batch cut inside the epoch.
    const buyer = signerFromSeed(new Uint8Array(randomBytes(32)));
    await ledger.airdrop(buyer.address, { sol: 10n ** 9n, io: 100n * IO });
    const deposit = await ledger.verifyDeposit(await ledger.buildDepositTransaction(buyer, 'IO', 100n * IO), { from: buyer.address, mint: 'IO' });
    await store.wallets.credit({ signature: deposit.signature, wallet: buyer.address, token: 'IO', amountPaid: deposit.amount, ioCredited: deposit.amount, fee: 0n, atMs: T0 });
    await seedLease(store, {
      buyer: buyer.address, createdAtMs: T0, readyAtMs: T0, endedAtMs: null, expiresAtMs: T0 + 3_600_000, reservedIo: 10n * IO,
      nodes: [{ ...busy, slots: 1, price: 3_600_000n, joinedAtMs: T0, endedAtMs: null }],
    });
    clock.set(T0 + 30_000);
    const settler = new Settler({ store, ledger, clock, logger: pino({ level: 'silent' }), terms: () => ({ protocolFeeBps: 250, feeBurnShareBps: 5000, ioUsdPrice: microUsd(1_000_000n), usageSlackSeconds: 15 }), settleSeconds: 30 });
    await settler.round();
    await settler.stop();

    clock.set(T0 + EPOCH_S * 1000 + 10);
    await seen(T0 + EPOCH_S * 1000);
    const tick = await epochs.tick();
    expect(tick).toEqual({ closed: [0], minted: [0] });

    const epoch = await store.epochs.get(0);
    const rewards = await store.epochs.rewards(0);
    expect(epoch).toMatchObject({ state: 'minted', servedGpuSeconds: 30, availableGpuSeconds: 3 * EPOCH_S });
    const expected = epochEmission(DEFAULT_PARAMS, { servedGpuSeconds: 30, availableGpuSeconds: 3 * EPOCH_S });
    expect(epoch?.emissionIo).toBe(expected.amount);
    const paid = rewards.reduce((s, r) => s + r.stipendIo + r.bonusIo, 0n);
    expect(paid + (epoch?.treasuryIo ?? -1n)).toBe(expected.amount);

    const by = (s: Supplier) => rewards.find((r) => r.deviceId === s.device);
    expect(by(busy)?.bonusIo).toBeGreaterThan(0n);
    expect(by(idle)?.bonusIo).toBe(0n);
    expect(by(idle)?.stipendIo).toBe(by(busy)?.stipendIo);
    expect(by(unstaked)).toMatchObject({ stipendIo: 0n, bonusIo: 0n, ineligible: ['under_staked'] });
    // The memo commits to the reward rows.
    expect(epoch?.memo).toBe(`idlegrid:epoch:0:${merkleRoot(rewards.map((r) => rewardLeafHash(rewardLeaf(r))))}`);

    // On chain: each payout wallet holds its reward, the treasury the remainder, and supply = Σ balances.
    const minted = async (s: Supplier) => (await ledger.balances(s.payout)).io;
    const settled = (await store.settlement.earningsOf(busy.device)).paidIo; // the lease's payout, paid by settlement
    expect(await minted(busy)).toBe((by(busy)?.stipendIo ?? 0n) + (by(busy)?.bonusIo ?? 0n) + settled);
    expect(await minted(idle)).toBe(by(idle)?.stipendIo);
    expect(await minted(unstaked)).toBe(0n);
    const tx = await ledger.getTransaction(epoch?.signatures?.[0] ?? '');
    expect(tx?.memo).toBe(epoch?.memo);
    expect((await ledger.conservation('IO')).ok).toBe(true);

    // Reputation: every device got a score and a tier; the unstaked one scores lower.
    const standing = async (s: Supplier) => store.devices.get(s.device);
    expect((await standing(unstaked))?.reputation).toBeLessThan((await standing(idle))?.reputation ?? 0);
    expect((await standing(idle))?.tier).toBe('platinum');

    // A second tick in the same epoch closes and mints nothing more.
    const supply = await ledger.supply('IO');
    expect(await epochs.tick()).toEqual({ closed: [], minted: [] });
    expect(await ledger.supply('IO')).toBe(supply);
  });

  it('after a crash between close and mint, a new service mints the closed epoch once', async () => {
    for (const s of [busy, idle]) await connect(s);
    const crashing = service({ crash: (p) => { if (p === 'epoch.closed') throw new Error('crash'); } });
    await crashing.tick();
    clock.set(T0 + EPOCH_S * 1000);
    await seen(T0 + EPOCH_S * 1000);
    await expect(crashing.tick()).rejects.toThrow('crash');
    expect((await store.epochs.get(0))?.state).toBe('closed');
    expect(await ledger.supply('IO')).toBe(0n);

    const restarted = service();
    expect(await restarted.tick()).toEqual({ closed: [], minted: [0] });
    const epoch = await store.epochs.get(0);
    expect(await ledger.supply('IO')).toBe(epoch?.emissionIo);
    expect(await restarted.tick()).toEqual({ closed: [], minted: [] });
    expect(await ledger.supply('IO')).toBe(epoch?.emissionIo);
  });

  it('counts uptime up to the live registry\'s last heartbeat when the store\'s flushed one lags', async () => {
    for (const s of [busy, idle]) await connect(s);
    const live = new Map<DeviceId, number>([[busy.device, T0 + EPOCH_S * 1000]]);
    const epochs = service({ lastSeenLive: (id) => live.get(id) });
    await epochs.tick();
    clock.set(T0 + EPOCH_S * 1000);
    await epochs.tick();
    const rewards = await store.epochs.rewards(0);
    // Neither was flushed after T0: the busy device's live heartbeat counts, the idle one's store time does not reach the epoch.
    expect(rewards.find((r) => r.deviceId === busy.device)?.uptimeSeconds).toBe(EPOCH_S);
    expect(rewards.find((r) => r.deviceId === idle.device)).toBeUndefined();
  });

  it('catches up on missed epochs one by one, calls the governance hook inside each close, and records the parameters used', async () => {
    for (const s of [busy, idle]) await connect(s);
    const closes: number[] = [];
    const params: Params = { ...DEFAULT_PARAMS, emission_floor_bps: 1_000 };
    const epochs = service({ onClose: (_tx, e) => { closes.push(e.idx); return Promise.resolve(); } }, params);
    await epochs.tick();
    clock.set(T0 + 3 * EPOCH_S * 1000 + 1);
    const tick = await epochs.tick();
    expect(tick.closed).toEqual([0, 1, 2]);
    expect(closes).toEqual([0, 1, 2]);
    const [e2, e1] = await store.epochs.list({ limit: 2, beforeIdx: 3 });
    expect(e1?.params?.['emission_floor_bps']).toBe('1000');
    // Nobody was seen after T0, so the later epochs had no uptime: only the floor emission, all of it to treasury.
    expect(e2).toMatchObject({ availableGpuSeconds: 0, utilizationBps: 0 });
    expect(e2?.treasuryIo).toBe(e2?.emissionIo);
    expect(e2?.emissionIo).toBe((DEFAULT_PARAMS.emission_max_per_epoch * 1_000n) / 10_000n);
    expect((await store.epochs.open())?.idx).toBe(3);
  });
});
