import { join } from 'node:path';
import { openEmbeddedLedger, type EmbeddedLedger, type Ledger } from '@idlegrid/chain';
import type { Address, DeviceId, LeaseId } from '@idlegrid/domain';
import type { AuditResponse, ClusterView, TokenResponse } from '@idlegrid/protocol';
import { openStore, type LeaseRecord, type Store } from '@idlegrid/store';
import { auditLease } from '../../apps/cloud/src/settlement/audit.ts';
import { slashMemo } from '../../apps/cloud/src/economics/staking.ts';
import { billingWindow } from '../../apps/cloud/src/settlement/metering.ts';
import { storeIdempotency } from '../../apps/cloud/src/settlement/store-idempotency.ts';
import type { CloudClient } from '../../apps/cli/src/cloud-client.ts';

/**
 * The chaos invariants. Each check returns the violations it found (empty: it holds), so a failing
 * round can print all of them with the seed.
 */

export interface BookOptions {
  /** After the last round: everything released, settled and paid; the bounds become exact. */
  final: boolean;
  /** A node may be billed this many seconds less than the control plane saw it serve (one heartbeat + the usage slack). */
  lossToleranceSeconds: number;
  usageSlackSeconds: number;
  /** Agents SIGKILLed so far: a joined node lost with its agent must end at most one heartbeat (+1 s) before the kill. */
  agentKills: ReadonlyArray<{ deviceId: DeviceId; atMs: number }>;
  heartbeatSeconds: number;
  /** Wallets that staked: the stake vault and every slash are checked. */
  stakers: readonly Address[];
}

const LIVE_STATES = new Set(['requested', 'allocating', 'provisioning', 'ready', 'degraded', 'releasing']);

/** Opens the control plane's store and chain from its data dir (only while it is not running). */
export async function withBooks<T>(cloudDir: string, fn: (store: Store, ledger: EmbeddedLedger) => Promise<T>): Promise<T> {
  const store = await openStore({ kind: 'sqlite', path: join(cloudDir, 'idlegrid.sqlite') });
  const ledger = await openEmbeddedLedger({ dataDir: join(cloudDir, 'chain'), idempotency: storeIdempotency(store) });
  try {
    return await fn(store, ledger);
  } finally {
    await ledger.close();
    await store.close();
  }
}

async function allLeases(store: Store): Promise<LeaseRecord[]> {
  const out: LeaseRecord[] = [];
  for (;;) {
    const last = out.at(-1);
    const page = await store.leases.list({ limit: 200, ...(last ? { afterId: last.id } : {}) });
    out.push(...page);
    if (page.length < 200) return out;
  }
}

/** Store and chain read from disk: conservation, nothing paid twice, billing bounds, lease states, audits. */
export async function checkBooks(store: Store, ledger: Ledger, o: BookOptions): Promise<string[]> {
  const bad: string[] = [];
  const now = Date.now();
  const info = ledger.info();

  // IO conservation: supply = minted − burned = Σ balances.
  const c = await ledger.conservation('IO');
  if (!c.ok || c.accountsTotal !== c.supply) bad.push(`IO conservation broken: ${JSON.stringify(c, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`);

  // No payout twice: the transactions carrying a batch's memo pay each supplier at most (paid: exactly) its net, burn at most its burn.
  for (const b of await store.settlement.listBatches({ limit: 10_000 })) {
    const found = await ledger.findByMemo(b.memo);
    if (b.state === 'paid') {
      const same = found.length === (b.signatures?.length ?? 0) && found.every((s) => b.signatures?.includes(s));
      if (!same) bad.push(`batch ${b.id}: chain has ${found.length} transaction(s) with its memo, store recorded ${b.signatures?.length ?? 0}`);
    }
    const expected = new Map<Address, bigint>();
    for (const r of await store.settlement.records(b.id)) expected.set(r.payout, (expected.get(r.payout) ?? 0n) + r.grossIo - r.feeIo);
    const paid = new Map<Address, bigint>();
    let burned = 0n;
    for (const sig of found) {
      const tx = await ledger.getTransaction(sig);
      if (!tx || tx.err !== null) continue;
      for (const t of tx.transfers) if (t.toOwner && t.to !== info.accounts.IO.treasury) paid.set(t.toOwner, (paid.get(t.toOwner) ?? 0n) + t.amount);
      for (const x of tx.burns) burned += x.amount;
    }
    for (const [to, amount] of paid) {
      const want = expected.get(to) ?? 0n;
      if (amount > want || (b.state === 'paid' && amount !== want)) bad.push(`batch ${b.id} (${b.state}): ${to} received ${amount}, its records net ${want}`);
    }
    if (burned > b.burnIo || (b.state === 'paid' && burned !== b.burnIo)) bad.push(`batch ${b.id} (${b.state}): burned ${burned}, recorded ${b.burnIo}`);
  }

  // Epoch mints: once each.
  for (const e of await store.epochs.list({ limit: 10_000 })) {
    if (e.memo === null) continue;
    const found = await ledger.findByMemo(e.memo);
    if (e.state === 'minted' && (found.length !== (e.signatures?.length ?? 0) || !found.every((s) => e.signatures?.includes(s)))) {
      bad.push(`epoch ${e.idx}: chain has ${found.length} mint transaction(s), store recorded ${e.signatures?.length ?? 0}`);
    }
  }

  bad.push(...(await checkStakes(store, ledger, o)));
  for (const lease of await allLeases(store)) bad.push(...(await checkLease(store, ledger, lease, now, o)));
  return bad;
}

/** The stake vault holds every active stake plus what recorded slashes have not paid out yet; each slash is paid once. */
async function checkStakes(store: Store, ledger: Ledger, o: BookOptions): Promise<string[]> {
  const bad: string[] = [];
  let active = 0n;
  let unpaid = 0n;
  for (const staker of o.stakers) {
    for (const stake of await store.stakes.listByStaker(staker)) {
      active += stake.amountIo;
      for (const slash of await store.stakes.slashes(stake.deviceId)) {
        const found = await ledger.findByMemo(slashMemo(slash.id));
        if (slash.paidAtMs === null) {
          unpaid += slash.amountIo;
          continue;
        }
        if (found.length !== (slash.signatures?.length ?? 0) || !found.every((x) => slash.signatures?.includes(x))) {
          bad.push(`slash ${slash.id}: chain has ${found.length} transaction(s) with its memo, store recorded ${slash.signatures?.length ?? 0}`);
        }
        if (slash.buyerIo + slash.burnedIo !== slash.amountIo) bad.push(`slash ${slash.id}: buyer ${slash.buyerIo} + burned ${slash.burnedIo} ≠ ${slash.amountIo}`);
      }
    }
  }
  const vault = await ledger.tokenAccountBalance(ledger.info().accounts.IO.stakeVault);
  if (vault < active || vault > active + unpaid || (o.final && vault !== active + unpaid)) {
    bad.push(`stake vault holds ${vault}; active stakes ${active}, unpaid slashes ${unpaid}`);
  }
  return bad;
}

async function checkLease(store: Store, ledger: Ledger, lease: LeaseRecord, now: number, o: BookOptions): Promise<string[]> {
  const bad: string[] = [];
  const id = lease.id;
  const nodes = await store.leases.nodes(id);
  const records = await store.settlement.recordsOfLease(id);
  const usage = await store.settlement.usage(id);
  const account = await store.escrow.get(id);
  const stakedAtStart = new Set<DeviceId>();
  for (const staker of o.stakers) for (const st of await store.stakes.listByStaker(staker)) stakedAtStart.add(st.deviceId);

  // Every lease is terminal with a reason, or live.
  if (lease.state === 'failed' && !lease.failureReason) bad.push(`lease ${id} failed without a reason`);
  if (lease.state === 'ended' && !lease.notices.some((n) => n.text.startsWith('releasing:'))) bad.push(`lease ${id} ended without a release reason`);
  if (!LIVE_STATES.has(lease.state) && lease.state !== 'ended' && lease.state !== 'failed') bad.push(`lease ${id} in unknown state ${lease.state}`);
  if (o.final && LIVE_STATES.has(lease.state)) bad.push(`lease ${id} still ${lease.state} after the final release`);
  for (const n of nodes) {
    if (n.endedAtMs !== null && !n.endReason) bad.push(`lease ${id} node ${n.id} ended (${n.state}) without a reason`);
    if ((lease.state === 'ended' || lease.state === 'failed') && n.endedAtMs === null) bad.push(`lease ${id} is ${lease.state} but node ${n.id} is still ${n.state}`);
  }

  // The money: charged = Σ records; each node's records are consecutive, never overlapping (no second billed twice).
  const charged = records.reduce((s, r) => s + r.grossIo, 0n);
  if (account && account.chargedIo !== charged) bad.push(`lease ${id}: charged ${account.chargedIo}, records sum to ${charged}`);
  if (account && charged > account.reservedIo) bad.push(`lease ${id}: charged ${charged} beyond the reservation ${account.reservedIo}`);
  for (const n of nodes) {
    const mine = records.filter((r) => r.nodeId === n.id).sort((a, b) => a.fromMs - b.fromMs);
    for (let i = 1; i < mine.length; i++) {
      if (mine[i]!.fromMs < mine[i - 1]!.toMs) bad.push(`lease ${id} node ${n.id}: records ${mine[i - 1]!.batchId} and ${mine[i]!.batchId} overlap`);
    }
    const billed = mine.reduce((s, r) => s + r.seconds, 0);
    const w = billingWindow(lease, n);
    const served = w ? Math.max(0, Math.floor((Math.min(w.endMs ?? now, now) - w.startMs) / 1000)) : 0;
    if (billed > served) bad.push(`lease ${id} node ${n.id}: billed ${billed} s, served ${served} s`);
    const settledNode = o.final || (w?.endMs !== null && w?.endMs !== undefined && account?.refundIo !== null && account?.refundIo !== undefined);
    const kill = o.agentKills.find((k) => k.deviceId === n.deviceId && n.endedAtMs !== null && k.atMs >= n.endedAtMs && k.atMs - n.endedAtMs < 30_000);
    if (n.state === 'lost' && n.joinedAtMs !== null && kill && kill.atMs - n.endedAtMs! > (o.heartbeatSeconds + 1) * 1000) {
      bad.push(`lease ${id} node ${n.id}: lost at ${n.endedAtMs}, ${kill.atMs - n.endedAtMs!} ms before its agent was killed (more than one heartbeat)`);
    }
    if (n.state === 'lost' && n.joinedAtMs !== null && stakedAtStart.has(n.deviceId)) {
      const slashed = (await store.stakes.slashes(n.deviceId)).some((x) => x.reason === 'abandon' && x.leaseId === id);
      if (!slashed) bad.push(`lease ${id} node ${n.id}: a staked device abandoned a running lease (${n.endReason}) but was not slashed`);
    }
    if (settledNode && billed < served - o.lossToleranceSeconds) {
      bad.push(`lease ${id} node ${n.id} (${n.state}, device ${n.deviceId.slice(0, 8)}…): billed ${billed} s of ${served} s served (lost more than ${o.lossToleranceSeconds} s)`);
    }
  }
  // Per device: never billed beyond its agent's signed usage plus the slack.
  const byDevice = new Map<DeviceId, number>();
  for (const r of records) byDevice.set(r.deviceId, (byDevice.get(r.deviceId) ?? 0) + r.seconds * r.slots);
  for (const [device, billed] of byDevice) {
    const reported = usage.get(device) ?? 0;
    if (billed > reported + o.usageSlackSeconds + 1) bad.push(`lease ${id} device ${device.slice(0, 8)}…: billed ${billed} slot-s, agent reported ${reported}`);
  }

  if (o.final) {
    if (!account || account.refundIo === null) bad.push(`lease ${id}: not closed out (no refund) after the final round`);
    const audit = await auditLease(store, ledger, lease);
    const failed = audit.checks.filter((x) => !x.ok);
    if (failed.length > 0 || !audit.settled) bad.push(`lease ${id}: audit ${audit.settled ? 'settled' : 'not settled'}; failed: ${JSON.stringify(failed)}`);
  }
  return bad;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Through the API once the network recovered: the token's conservation and each lease's audit
 * consistent. Right after a crash a batch may be half paid until the next round finishes it, so
 * each check gets `settleMs` to come true.
 */
export async function checkApi(api: CloudClient, leases: readonly LeaseId[], settleMs: number): Promise<string[]> {
  const bad: string[] = [];
  const token = await api.get<TokenResponse>('/v1/explorer/token');
  if (!token.conservation || token.supplyIo !== token.accountsTotalIo) bad.push(`/v1/explorer/token: ${JSON.stringify(token)}`);
  for (const id of leases) {
    const deadline = Date.now() + settleMs;
    let audit = await api.get<AuditResponse>(`/v1/clusters/${id}/audit`, {}, true);
    while (!audit.consistent && Date.now() < deadline) {
      await sleep(1000);
      audit = await api.get<AuditResponse>(`/v1/clusters/${id}/audit`, {}, true);
    }
    if (!audit.consistent) bad.push(`audit of ${id} inconsistent: ${JSON.stringify(audit.checks.filter((x) => !x.ok))}`);
    const view = await api.get<ClusterView>(`/v1/clusters/${id}`, {}, true);
    if (view.state === 'failed' && !view.failureReason) bad.push(`cluster ${id} failed without a reason`);
  }
  return bad;
}
