import { afterEach, describe, expect, it } from 'vitest';
import type { ChainSigner } from '@idlegrid/chain';
import type { DeviceId } from '@idlegrid/domain';
import { fundedWallet, IO, newWallet, registerDevice, SimulatedCrash, stake, stakingWorld, type StakingWorld } from '../testing/staking-fixture.ts';

const HOUR_MS = 3_600_000;
let world: StakingWorld | null = null;

afterEach(async () => {
  await world?.close();
  world = null;
});

async function setup(): Promise<{ w: StakingWorld; staker: ChainSigner; device: DeviceId }> {
  const w = await stakingWorld();
  world = w;
  const staker = await fundedWallet(w.ledger, 1_000n * IO);
  // A cpu device with 2 slots: requirement = 200 IO × 0.1 × 2 = 40 IO.
  const device = await registerDevice(w.store, { gpuModel: 'cpu', gpuCount: 2 });
  return { w, staker, device };
}

async function vault(w: StakingWorld): Promise<bigint> {
  return w.ledger.tokenAccountBalance(w.ledger.info().accounts.IO.stakeVault);
}

describe('staking service: stake and coverage', () => {
  it('records stake for a registered device and reports coverage against stakeRequirement', async () => {
    const { w, staker, device } = await setup();
    expect(await w.staking.coverage(device)).toMatchObject({ staked: 0n, requirement: 40n * IO, ratioPpm: 0, covered: false, staker: null });
    await stake(w, staker, device, 30n * IO);
    expect(await w.staking.coverage(device)).toMatchObject({ staked: 30n * IO, ratioPpm: 750_000, covered: false, staker: staker.address });
    await stake(w, staker, device, 10n * IO);
    expect(await w.staking.coverage(device)).toMatchObject({ staked: 40n * IO, ratioPpm: 1_000_000, covered: true });
    expect(await vault(w)).toBe(40n * IO);
    expect((await w.ledger.balances(staker.address)).io).toBe(960n * IO);
  });

  it('refuses an unknown device, another staker and a replay before anything moves twice', async () => {
    const { w, staker, device } = await setup();
    const unknown = newWallet().address;
    await expect(stake(w, staker, unknown, 5n * IO)).rejects.toMatchObject({ code: 'STAKE_DEVICE_UNKNOWN' });
    const tx = await w.ledger.buildDepositTransaction(staker, 'IO', 5n * IO, 'stakeVault');
    await w.staking.stakeDeposit(staker.address, device, tx);
    await expect(w.staking.stakeDeposit(staker.address, device, tx)).rejects.toMatchObject({ code: 'CHAIN_DEPOSIT_REPLAY' });
    const other = await fundedWallet(w.ledger, 100n * IO);
    await expect(stake(w, other, device, 5n * IO)).rejects.toMatchObject({ code: 'STAKE_OTHER_STAKER' });
    // A transfer to escrow is not a stake.
    const toEscrow = await w.ledger.buildDepositTransaction(staker, 'IO', 5n * IO);
    await expect(w.staking.stakeDeposit(staker.address, device, toEscrow)).rejects.toMatchObject({ code: 'CHAIN_DEPOSIT_WRONG_DESTINATION' });
    expect(await vault(w)).toBe(5n * IO);
    expect((await w.ledger.balances(other.address)).io).toBe(100n * IO);
    expect((await w.staking.coverage(device)).staked).toBe(5n * IO);
  });
});

describe('staking service: unstake cooldown', () => {
  it('takes stake out of coverage at once and pays it only after unstake_cooldown_hours, once', async () => {
    const { w, staker, device } = await setup();
    await stake(w, staker, device, 40n * IO);
    await expect(w.staking.requestUnstake(staker.address, device, 41n * IO)).rejects.toMatchObject({ code: 'STAKE_INSUFFICIENT' });
    await expect(w.staking.requestUnstake(newWallet().address, device, 1n)).rejects.toMatchObject({ code: 'STAKE_OTHER_STAKER' });
    const u = await w.staking.requestUnstake(staker.address, device, 15n * IO);
    expect(u.availableAtMs - u.requestedAtMs).toBe(336 * HOUR_MS);
    expect(await w.staking.coverage(device)).toMatchObject({ staked: 25n * IO, cooling: 15n * IO, covered: false });

    w.clock.advance(336 * HOUR_MS - 1);
    expect(await w.staking.round()).toEqual({ slashesPaid: 0, unstakesPaid: 0, failures: 0 });
    expect((await w.ledger.balances(staker.address)).io).toBe(960n * IO);

    w.clock.advance(1);
    // A crash after the payment landed, before it was recorded: the next round recognises it.
    w.crashAt.point = 'unstake.sent';
    expect(await w.staking.round()).toMatchObject({ unstakesPaid: 0, failures: 1 });
    expect(await w.staking.round()).toMatchObject({ unstakesPaid: 1, failures: 0 });
    expect(await w.staking.round()).toMatchObject({ unstakesPaid: 0 });
    expect((await w.ledger.balances(staker.address)).io).toBe(975n * IO);
    expect(await vault(w)).toBe(25n * IO);
    expect((await w.store.stakes.unstakes(device))[0]?.payoutSignature).toEqual(expect.any(String));
    expect(await w.staking.coverage(device)).toMatchObject({ staked: 25n * IO, cooling: 0n });
  });
});

describe('staking service: slashes', () => {
  it('slashes an abandonment once per lease: half to the buyer, half burned, from active then cooling stake', async () => {
    const { w, staker, device } = await setup();
    const buyer = newWallet();
    await stake(w, staker, device, 1_000n * IO);
    await w.staking.requestUnstake(staker.address, device, 980n * IO);
    const supply = await w.ledger.supply('IO');
    // 5 % of 1,000 IO (active 20 + cooling 980) = 50 IO: 20 from the active stake, 30 from the unstake.
    const s = await w.staking.slash({ deviceId: device, reason: 'abandon', leaseId: 'lease-1', buyer: buyer.address });
    expect(s).toMatchObject({ amountIo: 50n * IO, buyerIo: 25n * IO, burnedIo: 25n * IO, stakeIo: 1_000n * IO, bps: 500 });
    expect(s?.paidAtMs).not.toBeNull();
    const again = await w.staking.slash({ deviceId: device, reason: 'abandon', leaseId: 'lease-1', buyer: buyer.address });
    expect(again?.id).toBe(s?.id);
    expect(await w.staking.round()).toMatchObject({ slashesPaid: 0 });
    expect((await w.ledger.balances(buyer.address)).io).toBe(25n * IO);
    expect(await w.ledger.supply('IO')).toBe(supply - 25n * IO);
    expect(await vault(w)).toBe(950n * IO);
    expect(await w.staking.coverage(device)).toMatchObject({ staked: 0n, cooling: 950n * IO });
    expect((await w.ledger.conservation('IO')).ok).toBe(true);
  });

  it('burns the whole fraud slash when no buyer was affected, and finishes it after a crash without paying twice', async () => {
    const { w, staker, device } = await setup();
    await stake(w, staker, device, 100n * IO);
    const supply = await w.ledger.supply('IO');
    w.crashAt.point = 'slash.sent';
    const recorded = await w.staking.slash({ deviceId: device, reason: 'fraud', verificationId: 'ver-1' });
    expect(recorded).toMatchObject({ amountIo: 100n * IO, buyer: null, buyerIo: 0n, burnedIo: 100n * IO, paidAtMs: null });
    // The burn landed before the crash; the store does not know yet.
    expect(await w.ledger.supply('IO')).toBe(supply - 100n * IO);
    expect(await w.staking.round()).toMatchObject({ slashesPaid: 1, failures: 0 });
    expect(await w.staking.round()).toMatchObject({ slashesPaid: 0 });
    expect(await w.ledger.supply('IO')).toBe(supply - 100n * IO);
    expect(await vault(w)).toBe(0n);
    expect((await w.store.stakes.slash(recorded?.id ?? ''))?.signatures).toHaveLength(1);
    // Nothing left to slash.
    expect(await w.staking.slash({ deviceId: device, reason: 'fraud', verificationId: 'ver-2' })).toBeNull();
  });

  it('slashes with the parameters in force, governance changes included', async () => {
    const { w, staker, device } = await setup();
    await stake(w, staker, device, 100n * IO);
    await w.store.governance.addParamChange({ name: 'slash_abandon_bps', oldValue: '500', newValue: '1000', proposalId: 'gp_test', epochIndex: 1, appliedAtMs: w.clock.now() });
    const s = await w.staking.slash({ deviceId: device, reason: 'abandon', leaseId: 'lease-2', buyer: newWallet().address });
    expect(s).toMatchObject({ bps: 1000, amountIo: 10n * IO });
  });

  it('a crash between recording and paying leaves the slash for the next round', async () => {
    const { w, staker, device } = await setup();
    const buyer = newWallet();
    await stake(w, staker, device, 10n * IO);
    w.crashAt.point = 'slash.recorded';
    await expect(w.staking.slash({ deviceId: device, reason: 'abandon', leaseId: 'lease-9', buyer: buyer.address })).rejects.toBeInstanceOf(SimulatedCrash);
    expect(await vault(w)).toBe(10n * IO);
    expect(await w.staking.round()).toMatchObject({ slashesPaid: 1 });
    expect((await w.ledger.balances(buyer.address)).io).toBe(IO / 4n);
    expect(await vault(w)).toBe(10n * IO - IO / 2n);
  });
});
