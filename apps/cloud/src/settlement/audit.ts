import type { ChainTransaction, Ledger } from '@idlegrid/chain';
import { formatDecimal, type Address, type DeviceId } from '@idlegrid/domain';
import { leafHash, merkleProof, merkleRoot, verifyMerkleProof, type AuditResponse } from '@idlegrid/protocol';
import type { LeaseRecord, MeterRecord, SettlementBatchRecord, Store } from '@idlegrid/store';
import { closingHash, leaseMemo, refundMemo } from './chain-tasks.ts';
import { meterLeaf, netPayouts, settleMemo } from './metering.ts';

type Check = AuditResponse['checks'][number];
type Tx = AuditResponse['transactions'][number];

/**
 * Re-reads a lease's settlement from the store and from the chain and checks each against the
 * other: every meter record is proven against its batch's Merkle root, every batch's memo carries
 * that root and its transactions pay exactly the store's payouts, burn and treasury share (and no
 * other transaction carries the memo: nothing paid twice), the anchors carry the lease's hashes,
 * and the refund is what was reserved minus what was charged.
 */
export async function auditLease(store: Store, ledger: Ledger, lease: LeaseRecord): Promise<AuditResponse> {
  const checks: Check[] = [];
  const transactions: Tx[] = [];
  const check = (name: string, ok: boolean, detail?: string) => checks.push({ name, ok, ...(detail !== undefined && !ok ? { detail } : {}) });
  const info = ledger.info();
  const account = await store.escrow.get(lease.id);
  const nodes = await store.leases.nodes(lease.id);
  const records = await store.settlement.recordsOfLease(lease.id);

  const readTx = async (kind: Tx['kind'], signature: string, expectedMemo: string): Promise<ChainTransaction | null> => {
    const tx = await ledger.getTransaction(signature);
    const ok = tx !== null && tx.err === null && tx.memo === expectedMemo;
    transactions.push({ kind, signature, memo: tx?.memo ?? null, ok });
    check(`${kind} transaction ${signature} landed with memo ${expectedMemo}`, ok, tx === null ? 'not found on chain' : tx.err ?? `memo is ${tx.memo}`);
    return ok ? tx : null;
  };
  const onlyOnce = async (memo: string, expected: readonly string[]) => {
    const found = await ledger.findByMemo(memo);
    const same = found.length === expected.length && found.every((s) => expected.includes(s));
    check(`exactly the recorded transactions carry ${memo}`, same, `chain has ${found.join(', ') || 'none'}; store has ${expected.join(', ') || 'none'}`);
  };

  // Batches: roots, proofs, payments.
  const batches: AuditResponse['batches'] = [];
  const proven = new Map<string, { hash: string; proof: ReturnType<typeof merkleProof> }>();
  for (const id of [...new Set(records.map((r) => r.batchId))]) {
    const batch = await store.settlement.batch(id);
    if (!batch) {
      check(`batch ${id} is recorded`, false, 'meter records point to a missing batch');
      continue;
    }
    const all = await store.settlement.records(id);
    const hashes = all.map((r) => leafHash(meterLeaf(r)));
    const root = merkleRoot(hashes);
    check(`batch ${id}: the Merkle root of its ${all.length} records is the recorded one`, root === batch.merkleRoot && batch.memo === settleMemo(id, root), `computed ${root}`);
    for (const r of all.filter((x) => x.leaseId === lease.id)) {
      const proof = merkleProof(hashes, r.idx);
      const hash = hashes[r.idx]!;
      check(`record ${id}#${r.idx} is proven against the root`, verifyMerkleProof(hash, proof, batch.merkleRoot));
      proven.set(`${id}#${r.idx}`, { hash, proof });
    }
    if (batch.state === 'paid') await checkBatchPayments(batch, all, readTx, check, info.accounts.IO.treasury);
    await onlyOnce(batch.memo, batch.signatures ?? []);
    batches.push({
      id, state: batch.state, memo: batch.memo, merkleRoot: batch.merkleRoot, signatures: batch.signatures ?? [],
      feeIo: formatDecimal(batch.feeIo), burnIo: formatDecimal(batch.burnIo), treasuryIo: formatDecimal(batch.treasuryIo),
    });
  }

  // The lease's own account: anchors, charge, refund.
  const charged = records.reduce((n, r) => n + r.grossIo, 0n);
  const fee = records.reduce((n, r) => n + r.feeIo, 0n);
  if (!account) {
    check('the lease has an escrow account', false, 'no reservation was recorded');
  } else {
    check('charged = Σ gross of the meter records', account.chargedIo === charged, `account says ${account.chargedIo}, records sum to ${charged}`);
    check('charged ≤ reserved', account.chargedIo <= account.reservedIo);
    if (account.openAnchor) {
      const memo = leaseMemo(lease.id, account.termsHash);
      await readTx('lease-open', account.openAnchor, memo);
      await onlyOnce(memo, [account.openAnchor]);
    }
    if (account.refundIo !== null) {
      check('refund = reserved − charged', account.refundIo === account.reservedIo - account.chargedIo);
      if (account.refundSignature) {
        const tx = await readTx('refund', account.refundSignature, refundMemo(lease.id));
        if (tx) {
          const paid = tx.transfers.filter((t) => t.mint === 'IO' && t.toOwner === account.buyer).reduce((n, t) => n + t.amount, 0n);
          check(`the refund pays ${formatDecimal(account.refundIo)} IO to the buyer`, paid === account.refundIo, `chain shows ${formatDecimal(paid)}`);
        }
        await onlyOnce(refundMemo(lease.id), [account.refundSignature]);
      }
      if (account.closeAnchor) {
        const memo = leaseMemo(lease.id, closingHash(account));
        await readTx('lease-close', account.closeAnchor, memo);
        await onlyOnce(memo, [account.closeAnchor]);
      }
    }
  }

  const devices = summarizeDevices(nodes, records);
  const settled =
    account !== null && account.closedAtMs !== null && account.closeAnchor !== null && account.openAnchor !== null &&
    (account.refundIo === 0n || account.refundSignature !== null) && batches.every((b) => b.state === 'paid');
  return {
    lease: lease.id,
    buyer: lease.buyer,
    state: lease.state,
    network: ledger.backend,
    devices,
    money: {
      reservedIo: formatDecimal(account?.reservedIo ?? 0n),
      chargedIo: formatDecimal(charged),
      feeIo: formatDecimal(fee),
      paidToSuppliersIo: formatDecimal(charged - fee),
      refundIo: account?.refundIo == null ? null : formatDecimal(account.refundIo),
    },
    batches,
    records: records.map((r) => {
      const p = proven.get(`${r.batchId}#${r.idx}`);
      return {
        batch: r.batchId, idx: r.idx, nodeId: r.nodeId, deviceId: r.deviceId, payout: r.payout, fromMs: r.fromMs, toMs: r.toMs,
        seconds: r.seconds, slots: r.slots, pricePerGpuHour: formatDecimal(r.pricePerGpuHour), grossIo: formatDecimal(r.grossIo), feeIo: formatDecimal(r.feeIo),
        leafHash: p?.hash ?? leafHash(meterLeaf(r)), proof: p?.proof ?? [],
      };
    }),
    transactions,
    checks,
    settled,
    consistent: checks.every((c) => c.ok),
  };
}

async function checkBatchPayments(
  batch: SettlementBatchRecord,
  records: readonly MeterRecord[],
  readTx: (kind: Tx['kind'], signature: string, memo: string) => Promise<ChainTransaction | null>,
  check: (name: string, ok: boolean, detail?: string) => void,
  treasury: Address,
): Promise<void> {
  const paid = new Map<string, bigint>();
  let burned = 0n;
  let toTreasury = 0n;
  for (const signature of batch.signatures ?? []) {
    const tx = await readTx('settle', signature, batch.memo);
    if (!tx) continue;
    for (const t of tx.transfers) {
      if (t.mint !== 'IO') continue;
      if (t.to === treasury) toTreasury += t.amount;
      else if (t.toOwner) paid.set(t.toOwner, (paid.get(t.toOwner) ?? 0n) + t.amount);
    }
    for (const b of tx.burns) if (b.mint === 'IO') burned += b.amount;
  }
  const expected = netPayouts(records);
  const payoutsMatch = expected.length === paid.size && expected.every((p) => paid.get(p.to) === p.amount);
  check(`batch ${batch.id}: the chain pays each supplier exactly its net payout`, payoutsMatch, `expected ${expected.map((p) => `${p.to}=${p.amount}`).join(', ')}; chain ${[...paid].map(([k, v]) => `${k}=${v}`).join(', ')}`);
  check(`batch ${batch.id}: burned ${formatDecimal(batch.burnIo)} IO`, burned === batch.burnIo, `chain burned ${formatDecimal(burned)}`);
  check(`batch ${batch.id}: ${formatDecimal(batch.treasuryIo)} IO to treasury`, toTreasury === batch.treasuryIo, `chain moved ${formatDecimal(toTreasury)}`);
}

function summarizeDevices(nodes: Awaited<ReturnType<Store['leases']['nodes']>>, records: readonly MeterRecord[]): AuditResponse['devices'] {
  const byDevice = new Map<DeviceId, AuditResponse['devices'][number] & { gross: bigint; fee: bigint }>();
  for (const n of nodes) {
    const entry = byDevice.get(n.deviceId) ?? { deviceId: n.deviceId, payout: null, nodes: [], billedSeconds: 0, grossIo: '0', feeIo: '0', paidIo: '0', gross: 0n, fee: 0n };
    entry.nodes.push({ nodeId: n.id, role: n.role, joinedAt: n.joinedAtMs, endedAt: n.endedAtMs, endReason: n.endReason });
    byDevice.set(n.deviceId, entry);
  }
  for (const r of records) {
    const entry = byDevice.get(r.deviceId);
    if (!entry) continue;
    entry.payout = r.payout;
    entry.billedSeconds += r.seconds;
    entry.gross += r.grossIo;
    entry.fee += r.feeIo;
  }
  return [...byDevice.values()].map(({ gross, fee, ...d }) => ({ ...d, grossIo: formatDecimal(gross), feeIo: formatDecimal(fee), paidIo: formatDecimal(gross - fee) }));
}
