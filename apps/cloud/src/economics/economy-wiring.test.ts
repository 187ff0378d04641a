import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEmbeddedLedger, type ChainSigner, type EmbeddedLedger } from '@idlegrid/chain';
import { manualClock, seededRandom, toDeviceId, type DeviceId } from '@idlegrid/domain';
import { generateKeypair, signBytes, voteSigningPayload, type ParamsResponse } from '@idlegrid/protocol';
import { openStore, type Store } from '@idlegrid/store';
import { createCloudApp, type CloudApp } from '../app.ts';
import { loadCloudConfig } from '../config.ts';
import { storeIdempotency } from '../settlement/store-idempotency.ts';
import { FakeInspector } from '../testing/fake-inspector.ts';
import type { LiveDevice } from '../live/device-registry.ts';
import { liveDevice } from '../testing/live-device.ts';
import { seedLease } from '../testing/settlement-fixture.ts';
import { fundedWallet, IO } from '../testing/staking-fixture.ts';
import { CPU_HARDWARE } from '../testing/test-agent.ts';

/**
 * The economy as createCloudApp wires it: stake makes a device eligible for its epoch stipend,
 * a passed proposal is applied at the next epoch close and settlement charges the new fee from
 * the next batch, and a lost node of a running cluster slashes its stake for the buyer.
 */
const T0 = 1_800_000_000_000;
const clock = manualClock(T0);
let store: Store;
let ledger: EmbeddedLedger;
let cloud: CloudApp;

beforeEach(async () => {
  clock.set(T0);
  store = await openStore({ kind: 'sqlite', path: ':memory:' });
  ledger = await openEmbeddedLedger({ dataDir: null, clock, idempotency: storeIdempotency(store) });
  await ledger.bootstrap();
  cloud = createCloudApp({
    config: loadCloudConfig({}, { epochSeconds: 60, settleSeconds: 60, govVotingSeconds: 10, govTimelockSeconds: 0 }),
    store, clock, random: seededRandom(11), logger: pino({ level: 'silent' }), inspector: new FakeInspector(), ledger,
  });
  await cloud.economy.book.load(store);
});

afterEach(async () => {
  await cloud.settler?.stop();
  await cloud.epochs?.stop();
  await ledger.close();
  await store.close();
});

async function device(): Promise<{ id: DeviceId; live: LiveDevice }> {
  const live = liveDevice();
  await store.devices.upsertOnHello({
    id: live.id, hardware: CPU_HARDWARE, gpuModel: 'cpu', gpuCount: 1, region: live.region, pricePerGpuHour: live.pricePerGpuHour, payout: live.payout,
    agentVersion: 'test', nowMs: clock.now(),
  });
  await store.devices.updateStanding(live.id, { verified: true });
  cloud.registry.connect(live);
  return { id: toDeviceId(live.id), live };
}

async function stake(staker: ChainSigner, id: DeviceId, amount: bigint): Promise<void> {
  const tx = await ledger.buildDepositTransaction(staker, 'IO', amount, 'stakeVault');
  await cloud.economy.staking?.stakeDeposit(staker.address, id, tx);
}

describe('the wired economy', () => {
  it('pays a stipend only to the staked device, applies a passed fee change at the epoch close, and settles later batches at the new fee', async () => {
    const { id: staked } = await device();
    const { id: unstaked } = await device();
    // One ed25519 key is both the supplier's chain wallet and its governance signer (as the CLI's wallet file is).
    const supplier = generateKeypair();
    await ledger.airdrop(supplier.address, { sol: 10n ** 9n, io: 1_000n * IO });
    await stake(supplier, staked, 100n * IO);
    await cloud.epochs?.tick();

    const proposal = await cloud.economy.governance.propose({ proposer: supplier.address, param: 'protocol_fee_bps', value: '500', why: 'test' });
    const payload = voteSigningPayload({ proposalId: proposal.id, choice: 'yes', voter: supplier.address });
    await cloud.economy.governance.vote({ proposalId: proposal.id, voter: supplier.address, choice: 'yes', signature: signBytes(supplier, payload) });

    clock.set(T0 + 60_000);
    await store.devices.markSeenBatch([staked, unstaked].map((id) => ({ id, lastSeenMs: clock.now() })));
    expect((await cloud.epochs?.tick())?.closed).toEqual([0]);

    const rewards = await store.epochs.rewards(0);
    expect(rewards.find((r) => r.deviceId === staked)).toMatchObject({ ineligible: [], stakeIo: 100n * IO });
    expect(rewards.find((r) => r.deviceId === staked)?.stipendIo).toBeGreaterThan(0n);
    expect(rewards.find((r) => r.deviceId === unstaked)).toMatchObject({ stipendIo: 0n, ineligible: ['under_staked'] });

    // The change was applied inside epoch 0's close and is in force now.
    expect(cloud.economy.book.current().protocol_fee_bps).toBe(500);
    const params = (await (await cloud.app.request('/v1/params')).json()) as ParamsResponse;
    expect(params.history).toMatchObject([{ name: 'protocol_fee_bps', oldValue: '250', newValue: '500', proposalId: proposal.id, epochIndex: 0 }]);

    // A lease settled after it pays 5 % fee.
    const buyer = await fundedWallet(ledger, 100n * IO);
    const deposit = await ledger.verifyDeposit(await ledger.buildDepositTransaction(buyer, 'IO', 100n * IO), { from: buyer.address, mint: 'IO' });
    await store.wallets.credit({ signature: deposit.signature, wallet: buyer.address, token: 'IO', amountPaid: deposit.amount, ioCredited: deposit.amount, fee: 0n, atMs: clock.now() });
    await seedLease(store, {
      buyer: buyer.address, createdAtMs: clock.now(), readyAtMs: clock.now(), endedAtMs: null, expiresAtMs: clock.now() + 3_600_000, reservedIo: 10n * IO,
      nodes: [{ device: staked, payout: generateKeypair().address, slots: 1, price: 3_600_000n, joinedAtMs: clock.now(), endedAtMs: null }],
    });
    clock.set(T0 + 120_000);
    const round = await cloud.settler?.round();
    const batch = await store.settlement.batch(round?.batch ?? '');
    expect(batch?.grossIo).toBe(60_000n * 1_000n / 1_000n);
    expect(batch?.feeIo).toBe((batch?.grossIo ?? 0n) * 500n / 10_000n);
  });

  it('slashes slash_abandon_bps of a device\'s stake when its joined node is lost from a running cluster, half to the buyer, once', async () => {
    const { id, live } = await device();
    const supplier = await fundedWallet(ledger, 1_000n * IO);
    await stake(supplier, id, 100n * IO);
    const buyer = await fundedWallet(ledger, 100n * IO);
    const deposit = await ledger.verifyDeposit(await ledger.buildDepositTransaction(buyer, 'IO', 100n * IO), { from: buyer.address, mint: 'IO' });
    await store.wallets.credit({ signature: deposit.signature, wallet: buyer.address, token: 'IO', amountPaid: deposit.amount, ioCredited: deposit.amount, fee: 0n, atMs: clock.now() });
    const leaseId = await seedLease(store, {
      buyer: buyer.address, createdAtMs: clock.now(), readyAtMs: clock.now(), endedAtMs: null, expiresAtMs: clock.now() + 3_600_000, reservedIo: 10n * IO,
      nodes: [{ device: id, payout: live.payout, slots: 1, price: 3_600_000n, joinedAtMs: clock.now(), endedAtMs: null }],
    });
    const buyerBefore = (await ledger.balances(buyer.address)).io;
    const supplyBefore = await ledger.supply('IO');

    // The device goes away without releasing: its node is lost, and the wiring slashes it.
    cloud.registry.remove(live.id, live.sessionId);
    await expect.poll(async () => (await store.stakes.slashes(id)).length, { timeout: 5_000 }).toBe(1);
    const [slash] = await store.stakes.slashes(id);
    expect(slash).toMatchObject({ reason: 'abandon', leaseId, buyer: buyer.address, amountIo: 5n * IO, buyerIo: 2_500_000n, burnedIo: 2_500_000n });
    await cloud.economy.staking?.round();
    await cloud.economy.staking?.round();
    expect((await ledger.balances(buyer.address)).io - buyerBefore).toBe(2_500_000n);
    expect(supplyBefore - (await ledger.supply('IO'))).toBe(2_500_000n);
    expect((await cloud.economy.staking?.coverage(id))?.staked).toBe(95n * IO);
  });
});
