import { randomBytes } from 'node:crypto';
import { streamSSE } from 'hono/streaming';
import type { Hono } from 'hono';
import { formatDecimal, IdlegridError, parseDecimal, toDeviceId, type Address, type Clock } from '@idlegrid/domain';
import { buildDepositTransfer, type Ledger } from '@idlegrid/chain';
import {
  clusterIdParamSchema, deviceIdParamSchema, deviceRewardsQuerySchema, deviceRewardsResponseSchema, explorerLeaseDetailSchema, unsignedDepositRequestSchema,
  unsignedDepositResponseSchema, type DeviceEpochReward,
} from '@idlegrid/protocol';
import type { Store } from '@idlegrid/store';
import { clusterView } from '../../leases/cluster-view.ts';
import type { StakingService } from '../../economics/staking.ts';
import type { DeviceRegistry } from '../../live/device-registry.ts';
import { onChain } from '../chain-errors.ts';
import type { AppEnv } from '../app-env.ts';
import type { ApiRouter, AuthHook } from '../router.ts';

/** How often the event stream looks for changes (the store is read at most this often per open stream). */
export const EVENT_POLL_MS = 1000;
/** A comment line is sent at least this often so proxies keep the stream open. */
const KEEPALIVE_MS = 15_000;

/**
 * What the dashboard needs beyond the CLI's routes: a deposit built for a wallet that signs in
 * the browser, and one server-sent event stream with the buyer's clusters and network counters.
 */
export function addUnsignedDepositRoute(router: ApiRouter, ledger: Ledger): void {
  router.add(
    {
      method: 'post',
      path: '/v1/wallet/deposits/unsigned',
      summary: 'An unsigned deposit (SPL transfer to escrow) for a wallet that signs elsewhere; sign `message`, fill the signature slot, relay with POST /v1/wallet/deposits',
      tag: 'wallet',
      auth: true,
      body: unsignedDepositRequestSchema,
      response: unsignedDepositResponseSchema,
    },
    async ({ body, c }) => {
      const amount = parseDecimal(body.amount);
      if (amount === 0n) throw new IdlegridError('INVALID_AMOUNT', { value: body.amount, reason: 'a deposit must be more than 0' });
      const info = ledger.info();
      const lifetime = await onChain(() => ledger.recentBlockhash());
      // Built with a throwaway key in the wallet's name: the layout is final, the signature is not.
      const placeholder = { address: c.get('wallet'), secretKey: new Uint8Array([...randomBytes(32), ...new Uint8Array(32)]) };
      const wire = Buffer.from(
        await buildDepositTransfer(placeholder, { mint: info.mints[body.token], escrow: info.accounts[body.token].escrow, amount, lifetime }),
        'base64',
      );
      const signers = wire[0] ?? 0; // compact-u16, one byte below 128
      if (signers !== 1) throw new IdlegridError('INTERNAL', { reason: `a deposit has one signer, built ${signers}` });
      wire.fill(0, 1, 65);
      return { transaction: wire.toString('base64'), signatureOffset: 1, messageOffset: 1 + 64 * signers, token: body.token, amount: formatDecimal(amount) };
    },
  );
}

/**
 * `GET /v1/events/stream`: server-sent events for live pages. Public `network` events (devices
 * online, GPU slots) always; with an API key also `clusters` (the wallet's clusters, as GET
 * /v1/clusters returns them). An event is sent when its content changes.
 */
export function addEventStream(app: Hono<AppEnv>, deps: { store: Store; clock: Clock; registry: DeviceRegistry; authenticate: AuthHook; pollMs?: number }): void {
  app.get('/v1/events/stream', async (c) => {
    let wallet: Address | null = null;
    if (c.req.header('authorization')) {
      await deps.authenticate(c);
      wallet = c.get('wallet');
    }
    const origin = new URL(c.req.url).origin;
    return streamSSE(c, async (stream) => {
      const last = new Map<string, string>();
      let lastSentMs = 0;
      const send = async (event: string, data: unknown) => {
        const text = JSON.stringify(data);
        if (last.get(event) === text) return;
        last.set(event, text);
        lastSentMs = Date.now();
        await stream.writeSSE({ event, data: text });
      };
      while (!stream.aborted && !stream.closed) {
        let slots = 0;
        let devices = 0;
        for (const d of deps.registry.online()) {
          devices += 1;
          slots += d.slots;
        }
        await send('network', { devicesOnline: devices, gpuSlotsOnline: slots });
        if (wallet) {
          const leases = (await deps.store.leases.list({ buyer: wallet, limit: 10_000 })).sort((a, b) => b.createdAtMs - a.createdAtMs).slice(0, 50);
          const now = deps.clock.now();
          // Accrued cost changes every second while a cluster runs: that is the live cost.
          const clusters = await Promise.all(leases.map(async (l) => clusterView(l, await deps.store.leases.nodes(l.id), origin, now)));
          await send('clusters', { clusters });
        }
        if (Date.now() - lastSentMs > KEEPALIVE_MS) {
          lastSentMs = Date.now();
          await stream.write(': keepalive\n\n');
        }
        await stream.sleep(deps.pollMs ?? EVENT_POLL_MS);
      }
    });
  });
}

/** `GET /v1/explorer/leases/{id}`: public, like the rest of the explorer; every amount carries its transactions. */
export function addExplorerLeaseRoute(router: ApiRouter, store: Store): void {
  router.add(
    {
      method: 'get',
      path: '/v1/explorer/leases/{id}',
      summary: 'One lease: anchors, reservation, charge and refund, and the settlement batches that paid its suppliers and burned its fee',
      tag: 'explorer',
      auth: false,
      params: clusterIdParamSchema,
      response: explorerLeaseDetailSchema,
    },
    async ({ params }) => {
      const id = params.id;
      const lease = await store.leases.get(id);
      if (!lease) throw new IdlegridError('NOT_FOUND', { resource: 'lease', id });
      const a = await store.escrow.get(id);
      const io = (v: bigint | null | undefined) => (v === null || v === undefined ? null : formatDecimal(v));
      const byBatch = new Map<string, { fee: bigint; payees: Map<string, { amount: bigint; seconds: number }> }>();
      for (const r of await store.settlement.recordsOfLease(id)) {
        const b = byBatch.get(r.batchId) ?? { fee: 0n, payees: new Map<string, { amount: bigint; seconds: number }>() };
        const p = b.payees.get(r.payout) ?? { amount: 0n, seconds: 0 };
        p.amount += r.grossIo - r.feeIo;
        p.seconds += r.seconds * r.slots;
        b.payees.set(r.payout, p);
        b.fee += r.feeIo;
        byBatch.set(r.batchId, b);
      }
      const batches = [];
      for (const [batchId, b] of [...byBatch].sort(([x], [y]) => (x < y ? -1 : 1))) {
        const batch = await store.settlement.batch(batchId);
        if (!batch) continue;
        batches.push({
          id: batch.id, state: batch.state, memo: batch.memo, signatures: batch.signatures ?? [],
          payouts: [...b.payees].sort(([x], [y]) => (x < y ? -1 : 1)).map(([to, p]) => ({ to, amountIo: formatDecimal(p.amount), seconds: p.seconds })),
          leaseFeeIo: formatDecimal(b.fee), batchBurnIo: formatDecimal(batch.burnIo),
        });
      }
      return {
        lease: {
          id: lease.id, state: lease.state, gpuModel: lease.gpuModel, slots: lease.slots, createdAt: lease.createdAtMs, endedAt: lease.endedAtMs,
          termsHash: a?.termsHash ?? null, openAnchor: a?.openAnchor ?? null, closeAnchor: a?.closeAnchor ?? null,
          reservedIo: io(a?.reservedIo), chargedIo: io(a?.chargedIo), refundIo: io(a?.refundIo),
        },
        batches,
      };
    },
  );
}

/**
 * `GET /v1/devices/{id}/rewards`: public, like the device itself. The device's closed epochs
 * (stipend, bonus, tier, why not eligible, the mint transactions) for the supplier page's
 * earnings chart, and its stake coverage now (null without a stake vault).
 */
export function addDeviceRewardsRoute(router: ApiRouter, deps: { store: Store; staking: StakingService | null; epochSeconds: number }): void {
  router.add(
    {
      method: 'get',
      path: '/v1/devices/{id}/rewards',
      summary: 'One device\'s epoch rewards, newest first (stipend, usage bonus, tier, ineligibility, mint transactions), and its stake, requirement and coverage now',
      tag: 'devices',
      auth: false,
      params: deviceIdParamSchema,
      query: deviceRewardsQuerySchema,
      response: deviceRewardsResponseSchema,
    },
    async ({ params, query }) => {
      const id = toDeviceId(params.id);
      if (!(await deps.store.devices.get(id))) throw new IdlegridError('NOT_FOUND', { resource: 'device', id });
      const rewards: DeviceEpochReward[] = [];
      for (const r of await deps.store.epochs.rewardsOfDevice(id, query.limit)) {
        const e = await deps.store.epochs.get(r.epochIdx);
        if (!e) continue;
        rewards.push({
          epochIdx: r.epochIdx, startMs: e.startMs, endMs: e.endMs, state: e.state,
          stipendIo: formatDecimal(r.stipendIo), bonusIo: formatDecimal(r.bonusIo), totalIo: formatDecimal(r.stipendIo + r.bonusIo),
          tier: r.tier, stakeIo: formatDecimal(r.stakeIo), verified: r.verified, uptimeSeconds: r.uptimeSeconds, servedGpuSeconds: r.servedGpuSeconds,
          ineligible: r.ineligible, signatures: e.signatures ?? [],
        });
      }
      let stake = null;
      if (deps.staking) {
        const c = await deps.staking.coverage(id);
        stake = {
          staker: c.staker, staked: formatDecimal(c.staked), cooling: formatDecimal(c.cooling),
          requirement: c.requirement === null ? null : formatDecimal(c.requirement), coveragePpm: c.ratioPpm, covered: c.covered,
        };
      }
      return { deviceId: id, epochSeconds: deps.epochSeconds, stake, rewards };
    },
  );
}
