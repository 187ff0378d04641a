import { formatDecimal, parseDecimal, toDeviceId, type Address, type Clock, type DeviceId } from '@idlegrid/domain';
import type { Ledger } from '@idlegrid/chain';
import {
  createStakeRequestSchema, createStakeResponseSchema, stakeResponseSchema, unstakeRequestSchema, unstakeResponseSchema,
  type DeviceStakeView, type SlashView, type UnstakeView,
} from '@idlegrid/protocol';
import type { SlashRecord, Store, UnstakeRecord } from '@idlegrid/store';
import type { ParamBook } from '../../economics/param-book.ts';
import type { StakingService } from '../../economics/staking.ts';
import type { ApiRouter } from '../router.ts';

export interface StakingRouteDeps {
  store: Store;
  clock: Clock;
  ledger: Ledger;
  book: ParamBook;
  staking: StakingService;
}

export function unstakeView(u: UnstakeRecord, nowMs: number): UnstakeView {
  const state = u.payoutSignature !== null || u.amountIo === 0n ? 'paid' : u.availableAtMs <= nowMs ? 'due' : 'cooling';
  return { id: u.id, amount: formatDecimal(u.amountIo), requestedAt: u.requestedAtMs, availableAt: u.availableAtMs, state, signature: u.payoutSignature };
}

export function slashView(s: SlashRecord): SlashView {
  return {
    id: s.id, reason: s.reason, bps: s.bps, amount: formatDecimal(s.amountIo), toBuyer: formatDecimal(s.buyerIo), burned: formatDecimal(s.burnedIo),
    buyer: s.buyer, leaseId: s.leaseId, verificationId: s.verificationId, at: s.atMs, signatures: s.signatures,
  };
}

/** The staking API: stake (relay of a signed transfer to the stake vault), unstake, and the caller's stakes. */
export function addStakingRoutes(router: ApiRouter, deps: StakingRouteDeps): void {
  const { store, clock, staking } = deps;

  const deviceView = async (deviceId: DeviceId): Promise<DeviceStakeView> => {
    const nowMs = clock.now();
    const [coverage, device, unstakes, slashes] = await Promise.all([
      staking.coverage(deviceId, nowMs), store.devices.get(deviceId), store.stakes.unstakes(deviceId), store.stakes.slashes(deviceId),
    ]);
    return {
      deviceId,
      staker: coverage.staker ?? '',
      gpuModel: device?.gpuModel ?? null,
      gpuCount: device?.gpuCount ?? null,
      staked: formatDecimal(coverage.staked),
      cooling: formatDecimal(coverage.cooling),
      requirement: coverage.requirement === null ? null : formatDecimal(coverage.requirement),
      coveragePpm: coverage.ratioPpm,
      covered: coverage.covered,
      unstakes: unstakes.map((u) => unstakeView(u, nowMs)),
      slashes: slashes.map(slashView),
    };
  };

  router.add(
    {
      method: 'get',
      path: '/v1/stake',
      summary: 'Your stakes per device: active stake, requirement and coverage, unstakes in cooldown, slashes; and where to send a stake',
      tag: 'staking',
      auth: true,
      response: stakeResponseSchema,
    },
    async ({ c }) => {
      const wallet = c.get('wallet');
      await deps.book.load(store);
      const info = deps.ledger.info();
      const stakes = await store.stakes.listByStaker(wallet);
      return {
        wallet,
        stakeVault: info.accounts.IO.stakeVault,
        mint: info.mints.IO,
        cooldownHours: deps.book.current().unstake_cooldown_hours,
        devices: await Promise.all(stakes.map((s) => deviceView(s.deviceId))),
      };
    },
  );

  router.add(
    {
      method: 'post',
      path: '/v1/stake',
      summary: 'Stake IO for a device: relay a signed SPL transfer to the stake vault (checked like a deposit) and record it',
      tag: 'staking',
      auth: true,
      body: createStakeRequestSchema,
      response: createStakeResponseSchema,
      status: 201,
    },
    async ({ body, c }) => {
      const wallet: Address = c.get('wallet');
      const deviceId = toDeviceId(body.deviceId);
      await deps.book.load(store);
      const deposit = await staking.stakeDeposit(wallet, deviceId, body.transaction);
      return { deposit: { signature: deposit.signature, amount: formatDecimal(deposit.amount) }, stake: await deviceView(deviceId) };
    },
  );

  router.add(
    {
      method: 'post',
      path: '/v1/stake/unstake',
      summary: 'Start withdrawing stake: it leaves the active stake now and is paid from the stake vault after unstake_cooldown_hours (slashable until then)',
      tag: 'staking',
      auth: true,
      body: unstakeRequestSchema,
      response: unstakeResponseSchema,
      status: 201,
    },
    async ({ body, c }) => {
      const deviceId = toDeviceId(body.deviceId);
      await deps.book.load(store);
      const unstake = await staking.requestUnstake(c.get('wallet'), deviceId, parseDecimal(body.amount));
      return { unstake: unstakeView(unstake, clock.now()), stake: await deviceView(deviceId) };
    },
  );
}
