import { formatDecimal } from '@idlegrid/domain';
import type { Ledger } from '@idlegrid/chain';
import { emissionsResponseSchema, epochQuerySchema, epochsResponseSchema, tokenResponseSchema, type EpochRewardView, type EpochView } from '@idlegrid/protocol';
import type { EpochRecord, EpochReward, Store } from '@idlegrid/store';
import type { ApiRouter } from '../router.ts';

export function epochView(e: EpochRecord): EpochView {
  return {
    idx: e.idx, startMs: e.startMs, endMs: e.endMs, state: e.state, servedGpuSeconds: e.servedGpuSeconds, availableGpuSeconds: e.availableGpuSeconds,
    utilizationBps: e.utilizationBps, emissionIo: formatDecimal(e.emissionIo), stipendPoolIo: formatDecimal(e.stipendPoolIo),
    usagePoolIo: formatDecimal(e.usagePoolIo), treasuryIo: formatDecimal(e.treasuryIo), params: e.params, merkleRoot: e.merkleRoot, memo: e.memo,
    signatures: e.signatures ?? [],
  };
}

export function rewardView(r: EpochReward): EpochRewardView {
  return {
    deviceId: r.deviceId, payout: r.payout, gpuModel: r.gpuModel, gpus: r.gpus, verified: r.verified, stakeIo: formatDecimal(r.stakeIo),
    uptimeSeconds: r.uptimeSeconds, servedGpuSeconds: r.servedGpuSeconds, tier: r.tier, stipendIo: formatDecimal(r.stipendIo),
    bonusIo: formatDecimal(r.bonusIo), ineligible: r.ineligible,
  };
}

/** The public explorer of reward epochs: utilization, emission and its split, and what every device was minted. */
export function addEpochRoutes(router: ApiRouter, store: Store, epochSeconds: number): void {
  const page = async (limit: number, cursor: string | undefined) => {
    const epochs = await store.epochs.list({ limit, ...(cursor !== undefined ? { beforeIdx: Number(cursor) } : {}) });
    const last = epochs.at(-1);
    return { epochs, next: epochs.length === limit && last !== undefined ? String(last.idx) : null };
  };

  router.add(
    {
      method: 'get', path: '/v1/explorer/epochs', summary: 'Reward epochs, newest first (the open one included): utilization, emission, stipend and usage pools, treasury remainder, mint signatures and memo',
      tag: 'explorer', auth: false, query: epochQuerySchema, response: epochsResponseSchema,
    },
    async ({ query }) => {
      const { epochs, next } = await page(query.limit, query.cursor);
      return { epochSeconds, epochs: epochs.map(epochView), next };
    },
  );

  router.add(
    {
      method: 'get', path: '/v1/explorer/emissions', summary: 'Closed epochs, newest first, with each device\'s stipend, usage bonus, tier and why it was not eligible',
      tag: 'explorer', auth: false, query: epochQuerySchema, response: emissionsResponseSchema,
    },
    async ({ query }) => {
      const { epochs, next } = await page(query.limit, query.cursor);
      const out = [];
      for (const e of epochs) {
        if (e.state === 'open') continue;
        out.push({ ...epochView(e), rewards: (await store.epochs.rewards(e.idx)).map(rewardView) });
      }
      return { epochs: out, next };
    },
  );
}

/** The IO token as the chain has it: supply, minted, burned, and whether every base unit is accounted for. */
export function addTokenRoute(router: ApiRouter, ledger: Ledger): void {
  router.add(
    {
      method: 'get', path: '/v1/explorer/token', summary: 'IO supply, minted and burned totals, and the conservation check (supply = minted − burned = Σ balances), read from the chain',
      tag: 'explorer', auth: false, response: tokenResponseSchema,
    },
    async () => {
      const c = await ledger.conservation('IO');
      const orNull = (v: bigint | null) => (v === null ? null : formatDecimal(v));
      return {
        mint: ledger.info().mints.IO, supplyIo: formatDecimal(c.supply), accountsTotalIo: formatDecimal(c.accountsTotal), tokenAccounts: c.tokenAccounts,
        mintedIo: orNull(c.minted), burnedIo: orNull(c.burned), conservation: c.ok,
      };
    },
  );
}
