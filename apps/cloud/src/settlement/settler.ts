import type { Logger } from 'pino';
import type { Ledger } from '@idlegrid/chain';
import type { Address, Clock, DeviceId, LeaseId } from '@idlegrid/domain';
import type { DepositRecord, LeaseAccountRecord, MeterRecord, SettlementBatchRecord, Store, WithdrawalRecord } from '@idlegrid/store';
import { ChainTasks, type CrashHook } from './chain-tasks.ts';
import { allowedByUsage, batchId, meterNode, netPayouts, planBatch, priceRecord, protocolFee, type SettlementTerms } from './metering.ts';

type UnnumberedRecord = Omit<MeterRecord, 'batchId' | 'idx'>;

export interface SettlerOptions {
  store: Store;
  ledger: Ledger;
  clock: Clock;
  logger: Logger;
  /** The terms in force (governance may change the fee between epochs); read once per batch. */
  terms: () => SettlementTerms;
  /** One batch per interval of this many seconds. */
  settleSeconds: number;
  crash?: CrashHook;
  /** Runs at the end of every round (staking and governance finish what a crash left there); a failure is logged. */
  afterRound?: () => Promise<unknown>;
  /**
   * Whether this control plane settles now (default: always). Only the leader replica sends
   * anything to the chain; on a follower a nudge goes to the leader (`nudgeLeader`).
   */
  leading?: () => boolean;
  nudgeLeader?: () => void;
}

export interface RoundReport {
  /** The batch cut in this round, if any. */
  batch: string | null;
  /** Pending batches (from before) paid in this round. */
  resumed: number;
  /** Lease accounts closed (refund fixed) in this round. */
  closed: number;
}

/**
 * Settlement: every `settleSeconds` one round. A round (1) backs new USDC deposits on chain,
 * (2) pays batches recorded but not yet paid (a crash left them), (3) meters every open lease up
 * to the interval's cut-off into one batch with a deterministic id, records it, then pays it,
 * (4) closes the accounts of ended leases that are fully metered, and (5) sends anchors,
 * refunds and withdrawals. The store is written before the chain in every step, and every chain step is
 * idempotent, so a crash anywhere is repaired by the next round.
 */
export class Settler {
  readonly tasks: ChainTasks;
  private timer: NodeJS.Timeout | undefined;
  private nudgeTimer: NodeJS.Timeout | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private stopped = false;
  /** Payout wallets by device, looked up once per round. */
  private readonly payouts = new Map<DeviceId, Address>();

  constructor(private readonly o: SettlerOptions) {
    this.tasks = new ChainTasks({ store: o.store, ledger: o.ledger, logger: o.logger, ...(o.crash ? { crash: o.crash } : {}) });
  }

  start(): void {
    this.timer = setInterval(() => this.nudge(0), this.o.settleSeconds * 1000);
    this.timer.unref();
    this.nudge(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.nudgeTimer);
    await this.chain.catch(() => undefined);
  }

  /** Asks for a round soon (after a booking, a release or a deposit); rounds never overlap. */
  nudge(delayMs = 200): void {
    if (!this.leads()) {
      this.o.nudgeLeader?.();
      return;
    }
    if (this.stopped || this.nudgeTimer) return;
    this.nudgeTimer = setTimeout(() => {
      this.nudgeTimer = undefined;
      this.round().catch((err: unknown) => this.o.logger.warn({ err }, 'settlement round failed; the next round resumes it'));
    }, delayMs);
    this.nudgeTimer.unref();
  }

  /**
   * Backs a USDC deposit's IO credit on chain now (the leader) or in the leader's next round; a
   * failure is left for the next round too.
   */
  async convertSoon(deposit: DepositRecord): Promise<void> {
    if (!this.leads()) return this.nudge();
    await this.tasks.convert(deposit).catch(() => this.nudge());
  }

  /** Sends a recorded withdrawal now (the leader; its signature) or in the leader's next round (null). */
  async withdrawSoon(withdrawal: WithdrawalRecord): Promise<string | null> {
    if (!this.leads()) {
      this.nudge();
      return null;
    }
    return this.tasks.withdraw(withdrawal).catch(() => {
      this.nudge();
      return null;
    });
  }

  private leads(): boolean {
    return this.o.leading?.() ?? true;
  }

  /** Runs one round now (serialized with any other). */
  round(): Promise<RoundReport> {
    const run = this.chain.then(() => this.roundNow(), () => this.roundNow());
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async roundNow(): Promise<RoundReport> {
    const { store } = this.o;
    this.payouts.clear();
    await this.tasks.convertPending();
    const pending = await store.settlement.pendingBatches();
    for (const b of pending) await this.pay(b);
    const now = this.o.clock.now();
    const period = this.o.settleSeconds * 1000;
    const cutoffMs = Math.floor(now / period) * period;
    const { batch, closable } = await this.cut(cutoffMs, now);
    let closed = 0;
    for (const leaseId of closable) {
      const account = await store.escrow.close(leaseId, now);
      if (account) {
        closed++;
        this.o.logger.info({ leaseId, charged: account.chargedIo.toString(), refund: (account.refundIo ?? 0n).toString() }, 'lease account closed');
      }
    }
    await this.tasks.finishAccounts();
    await this.tasks.withdrawPending();
    await this.o.afterRound?.().catch((err: unknown) => this.o.logger.warn({ err }, 'staking/governance round failed; the next round resumes it'));
    return { batch, resumed: pending.length, closed };
  }

  /** Meters every open account up to the cut-off; records and pays the batch. */
  private async cut(cutoffMs: number, now: number): Promise<{ batch: string | null; closable: LeaseId[] }> {
    const { store } = this.o;
    const terms = this.o.terms();
    const records: UnnumberedRecord[] = [];
    const closable: LeaseId[] = [];
    const batchExists = (await store.settlement.batch(batchId(cutoffMs))) !== null;
    for (const account of await store.escrow.listOpen()) {
      const metered = await this.meterLease(account, cutoffMs, terms);
      if (!metered) continue;
      // Records wait for the next interval when this one's batch exists; closing needs nothing left to meter.
      if (metered.settled && (metered.records.length === 0 || !batchExists)) closable.push(account.leaseId);
      if (!batchExists) records.push(...metered.records);
    }
    if (batchExists || records.length === 0) return { batch: null, closable };
    const plan = planBatch(cutoffMs, records, terms);
    const created = await store.settlement.createBatch({
      batch: {
        id: plan.id, cutoffMs, merkleRoot: plan.merkleRoot, memo: plan.memo, records: plan.records.length,
        grossIo: plan.grossIo, feeIo: plan.feeIo, burnIo: plan.burnIo, treasuryIo: plan.treasuryIo, createdAtMs: now,
      },
      records: plan.records,
    });
    if (!created) return { batch: null, closable: [] };
    this.o.crash?.('settle.batch-recorded');
    this.o.logger.info({ batch: plan.id, records: plan.records.length, gross: plan.grossIo.toString() }, 'settlement batch recorded');
    const batch = await store.settlement.batch(plan.id);
    if (batch) await this.pay(batch);
    return { batch: plan.id, closable };
  }

  /**
   * The lease's records up to the cut-off, and whether it is settled once they are paid: ended
   * (before the cut-off) with no billable second left on any node.
   */
  private async meterLease(account: LeaseAccountRecord, cutoffMs: number, terms: SettlementTerms): Promise<{ records: UnnumberedRecord[]; settled: boolean } | null> {
    const { store } = this.o;
    const lease = await store.leases.get(account.leaseId);
    if (!lease) return null;
    const nodes = await store.leases.nodes(lease.id);
    const usage = await store.settlement.usage(lease.id);
    const billed = new Map<DeviceId, number>();
    for (const r of await store.settlement.recordsOfLease(lease.id)) billed.set(r.deviceId, (billed.get(r.deviceId) ?? 0) + r.seconds);
    let budget = account.reservedIo - account.chargedIo;
    const records: UnnumberedRecord[] = [];
    let leftover = false;
    for (const node of nodes) {
      // The agent reports slot-seconds (GPU-seconds); billing counts node seconds, so divide by the node's slots.
      const reported = usage.get(node.deviceId);
      const allowed = () => allowedByUsage(reported === undefined ? undefined : reported / node.slots, billed.get(node.deviceId) ?? 0, terms);
      const m = meterNode(lease, node, cutoffMs, allowed());
      if (m) {
        const payout = await this.payoutOf(node.deviceId);
        if (payout === null) continue;
        let { grossIo, feeIo } = priceRecord(m.seconds, node.slots, node.pricePerGpuHour, terms);
        if (grossIo > budget) {
          // Only a replacement dearer than the booked price can get here: the buyer never pays beyond the reservation.
          this.o.logger.warn({ leaseId: lease.id, nodeId: node.id, grossIo: grossIo.toString(), budget: budget.toString() }, 'charge capped at the reservation');
          grossIo = budget;
          feeIo = protocolFee(grossIo, terms);
        }
        budget -= grossIo;
        billed.set(node.deviceId, (billed.get(node.deviceId) ?? 0) + m.seconds);
        records.push({ leaseId: lease.id, nodeId: node.id, deviceId: node.deviceId, payout, ...m, slots: node.slots, pricePerGpuHour: node.pricePerGpuHour, grossIo, feeIo });
      }
      const after = { ...node, billedUntilMs: m ? m.toMs : node.billedUntilMs };
      if (meterNode(lease, after, cutoffMs, allowed()) !== null) leftover = true;
    }
    const ended = (lease.state === 'ended' || lease.state === 'failed') && (lease.endedAtMs ?? Infinity) <= cutoffMs;
    return { records, settled: ended && !leftover };
  }

  private async payoutOf(deviceId: DeviceId): Promise<Address | null> {
    const known = this.payouts.get(deviceId);
    if (known !== undefined) return known;
    const payout = (await this.o.store.devices.get(deviceId))?.payout ?? null;
    if (payout !== null) this.payouts.set(deviceId, payout);
    return payout;
  }

  /** Pays a recorded batch (again, after a crash: the ledger recognizes what already landed). */
  private async pay(batch: SettlementBatchRecord): Promise<void> {
    const { store, ledger } = this.o;
    const records = await store.settlement.records(batch.id);
    const transfers = netPayouts(records);
    let signatures: readonly string[] = [];
    if (transfers.length > 0 || batch.burnIo > 0n || batch.treasuryIo > 0n) {
      const result = await ledger.payBatch({ id: batch.id, memo: batch.memo, transfers, burn: batch.burnIo, treasury: batch.treasuryIo, mint: 'IO' });
      signatures = result.signatures;
      this.o.crash?.('settle.batch-sent');
    }
    await store.settlement.markPaid(batch.id, signatures, this.o.clock.now());
    this.o.logger.info({ batch: batch.id, signatures: signatures.length }, 'settlement batch paid');
  }
}
