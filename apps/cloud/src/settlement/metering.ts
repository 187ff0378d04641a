import { usdToIo, type Address, type DeviceId, type LeaseId, type MicroUsd } from '@idlegrid/domain';
import { leafHash, merkleRoot, type MeterLeaf } from '@idlegrid/protocol';
import type { MeterRecord } from '@idlegrid/store';

/**
 * Metering and batch arithmetic: pure functions of the store's records, the cut-off time and the
 * economic terms (no clock, no I/O). All money is bigint base units.
 */

export interface SettlementTerms {
  /** Of every gross payout, this share (basis points) is the protocol fee. */
  readonly protocolFeeBps: number;
  /** Of the fee, this share (basis points) is burned; the rest goes to treasury. */
  readonly feeBurnShareBps: number;
  /** MicroUsd per IO. */
  readonly ioUsdPrice: MicroUsd;
  /** Seconds a node may be billed beyond its agent's latest signed usage report (reports lag by up to a heartbeat). */
  readonly usageSlackSeconds: number;
}

export interface MeteredLease {
  readonly id: LeaseId;
  readonly readyAtMs: number | null;
  readonly endedAtMs: number | null;
  readonly expiresAtMs: number;
}

export interface MeteredNode {
  readonly id: number;
  readonly deviceId: DeviceId;
  readonly slots: number;
  readonly pricePerGpuHour: bigint;
  readonly joinedAtMs: number | null;
  readonly endedAtMs: number | null;
  /** When the control plane last saw the node's device alive (heartbeats, flushed to the store). */
  readonly lastSeenMs: number | null;
  readonly billedUntilMs: number | null;
}

/**
 * When a node is billable: from when it joined Ray, but never before the lease first became ready
 * (provisioning is not billed), until it ended, the lease ended or the booked time ran out.
 * null when it never joined or the lease never became ready.
 */
export function billingWindow(lease: MeteredLease, node: MeteredNode): { startMs: number; endMs: number | null } | null {
  if (node.joinedAtMs === null || lease.readyAtMs === null) return null;
  const ends = [node.endedAtMs, lease.endedAtMs, lease.expiresAtMs].filter((x): x is number => x !== null);
  return { startMs: Math.max(node.joinedAtMs, lease.readyAtMs), endMs: Math.min(...ends) };
}

/** Whole seconds billed for a node up to `nowMs` (what the cluster view shows as billedSeconds). */
export function billableSeconds(lease: MeteredLease, node: MeteredNode, nowMs: number): number {
  const w = billingWindow(lease, node);
  if (!w) return 0;
  return Math.max(0, Math.floor((Math.min(w.endMs ?? nowMs, nowMs) - w.startMs) / 1000));
}

export interface NodeMeter {
  readonly fromMs: number;
  readonly toMs: number;
  readonly seconds: number;
}

/**
 * The next interval to bill for a node: whole seconds from its watermark up to the cut-off (or
 * its end), at most `allowedSeconds`. Fractions of a second wait for the next batch, so the sum of
 * a node's records is exactly floor((end − start) / 1 s). A node that has not ended is billed only
 * up to when it was last seen alive: a loss noticed later ends it at that last heartbeat, which must
 * never fall before seconds already billed.
 */
export function meterNode(lease: MeteredLease, node: MeteredNode, cutoffMs: number, allowedSeconds: number): NodeMeter | null {
  const w = billingWindow(lease, node);
  if (!w) return null;
  const fromMs = node.billedUntilMs ?? w.startMs;
  const seenUntil = node.endedAtMs === null ? (node.lastSeenMs ?? w.startMs) : Infinity;
  const until = Math.min(w.endMs ?? cutoffMs, cutoffMs, seenUntil);
  const seconds = Math.min(Math.floor((until - fromMs) / 1000), Math.floor(allowedSeconds));
  if (seconds <= 0) return null;
  return { fromMs, toMs: fromMs + seconds * 1000, seconds };
}

/** Seconds still billable for a device in a lease given its agent's cumulative report and what is already billed. */
export function allowedByUsage(reportedSeconds: number | undefined, alreadyBilledSeconds: number, terms: SettlementTerms): number {
  return Math.max(0, (reportedSeconds ?? 0) + terms.usageSlackSeconds - alreadyBilledSeconds);
}

/** seconds × price × slots / 3600, in IO at the reference price (rounded down), and its fee (rounded down). */
export function priceRecord(seconds: number, slots: number, pricePerGpuHour: bigint, terms: SettlementTerms): { grossIo: bigint; feeIo: bigint } {
  const usd = (BigInt(seconds) * BigInt(slots) * pricePerGpuHour) / 3600n;
  const grossIo = usdToIo(usd, terms.ioUsdPrice, 'down');
  return { grossIo, feeIo: protocolFee(grossIo, terms) };
}

/** The protocol's share of a gross amount (rounded down). */
export function protocolFee(grossIo: bigint, terms: Pick<SettlementTerms, 'protocolFeeBps'>): bigint {
  return (grossIo * BigInt(terms.protocolFeeBps)) / 10_000n;
}

/** IO to reserve for `durationMs` of a lease costing `pricePerHour` (MicroUsd per hour), rounded up. */
export function reservationIo(pricePerHour: bigint, durationMs: number, terms: Pick<SettlementTerms, 'ioUsdPrice'>): bigint {
  const usd = (pricePerHour * BigInt(durationMs) + 3_599_999n) / 3_600_000n;
  return usdToIo(usd, terms.ioUsdPrice, 'up');
}

export interface BatchPlan {
  readonly id: string;
  readonly memo: string;
  readonly merkleRoot: string;
  readonly records: MeterRecord[];
  readonly grossIo: bigint;
  readonly feeIo: bigint;
  readonly burnIo: bigint;
  readonly treasuryIo: bigint;
}

/** The deterministic id of the batch for the interval ending at `cutoffMs`. */
export function batchId(cutoffMs: number): string {
  return `stl-${cutoffMs}`;
}

export function settleMemo(id: string, root: string): string {
  return `idlegrid:settle:${id}:${root}`;
}

export function meterLeaf(r: MeterRecord): MeterLeaf {
  return {
    batch: r.batchId, idx: r.idx, lease: r.leaseId, node: r.nodeId, device: r.deviceId, payout: r.payout,
    fromMs: r.fromMs, toMs: r.toMs, seconds: r.seconds, slots: r.slots,
    pricePerGpuHour: r.pricePerGpuHour.toString(), grossIo: r.grossIo.toString(), feeIo: r.feeIo.toString(),
  };
}

/** Orders the records (lease, node), numbers them, and derives the root, the memo and the money. */
export function planBatch(cutoffMs: number, unordered: ReadonlyArray<Omit<MeterRecord, 'batchId' | 'idx'>>, terms: SettlementTerms): BatchPlan {
  const id = batchId(cutoffMs);
  const records: MeterRecord[] = [...unordered]
    .sort((a, b) => (a.leaseId < b.leaseId ? -1 : a.leaseId > b.leaseId ? 1 : a.nodeId - b.nodeId))
    .map((r, idx) => ({ ...r, batchId: id, idx }));
  const root = merkleRoot(records.map((r) => leafHash(meterLeaf(r))));
  let grossIo = 0n;
  let feeIo = 0n;
  for (const r of records) {
    grossIo += r.grossIo;
    feeIo += r.feeIo;
  }
  const burnIo = (feeIo * BigInt(terms.feeBurnShareBps)) / 10_000n;
  return { id, memo: settleMemo(id, root), merkleRoot: root, records, grossIo, feeIo, burnIo, treasuryIo: feeIo - burnIo };
}

/** What each supplier is paid for a batch: Σ (gross − fee) per payout wallet, ordered by wallet, zeros left out. */
export function netPayouts(records: readonly MeterRecord[]): Array<{ to: Address; amount: bigint }> {
  const net = new Map<Address, bigint>();
  for (const r of records) net.set(r.payout, (net.get(r.payout) ?? 0n) + r.grossIo - r.feeIo);
  return [...net].filter(([, amount]) => amount > 0n).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([to, amount]) => ({ to, amount }));
}
