import { formatDecimal } from '@idlegrid/domain';
import {
  explorerBurnsResponseSchema, explorerLeasesResponseSchema, explorerPayoutsResponseSchema, explorerQuerySchema,
} from '@idlegrid/protocol';
import type { LeaseId } from '@idlegrid/domain';
import type { SettlementBatchRecord, Store } from '@idlegrid/store';
import type { ApiRouter } from '../router.ts';

const batchView = (b: SettlementBatchRecord) => ({
  id: b.id, cutoffMs: b.cutoffMs, state: b.state, memo: b.memo, merkleRoot: b.merkleRoot, records: b.records,
  grossIo: formatDecimal(b.grossIo), feeIo: formatDecimal(b.feeIo), burnIo: formatDecimal(b.burnIo), treasuryIo: formatDecimal(b.treasuryIo),
  signatures: b.signatures ?? [],
});

/**
 * The public explorer: what settlement paid, burned and anchored, from the store (every amount and
 * signature here can be checked on the chain; `GET /v1/clusters/:id/audit` does that for a lease).
 */
export function addExplorerRoutes(router: ApiRouter, store: Store): void {
  const page = async (limit: number, cursor: string | undefined) => {
    const batches = await store.settlement.listBatches({ limit, ...(cursor !== undefined ? { beforeId: cursor } : {}) });
    return { batches, next: batches.length === limit ? (batches.at(-1)?.id ?? null) : null };
  };

  router.add(
    { method: 'get', path: '/v1/explorer/payouts', summary: 'Settlement batches, newest first, with what each supplier was paid', tag: 'explorer', auth: false, query: explorerQuerySchema, response: explorerPayoutsResponseSchema },
    async ({ query }) => {
      const { batches, next } = await page(query.limit, query.cursor);
      const out = [];
      for (const b of batches) {
        const byPayee = new Map<string, { amount: bigint; seconds: number }>();
        for (const r of await store.settlement.records(b.id)) {
          const e = byPayee.get(r.payout) ?? { amount: 0n, seconds: 0 };
          e.amount += r.grossIo - r.feeIo;
          e.seconds += r.seconds * r.slots;
          byPayee.set(r.payout, e);
        }
        const payouts = [...byPayee].sort(([a], [z]) => (a < z ? -1 : 1)).map(([to, e]) => ({ to, amountIo: formatDecimal(e.amount), seconds: e.seconds }));
        out.push({ ...batchView(b), payouts });
      }
      return { batches: out, next };
    },
  );

  router.add(
    { method: 'get', path: '/v1/explorer/burns', summary: 'Protocol fee burned by each settlement batch (SPL burn), newest first', tag: 'explorer', auth: false, query: explorerQuerySchema, response: explorerBurnsResponseSchema },
    async ({ query }) => {
      const { batches, next } = await page(query.limit, query.cursor);
      const burns = batches.filter((b) => b.burnIo > 0n);
      return {
        burns: burns.map((b) => ({ batch: b.id, cutoffMs: b.cutoffMs, burnIo: formatDecimal(b.burnIo), signatures: b.signatures ?? [] })),
        totalBurnedIo: formatDecimal(burns.reduce((n, b) => n + b.burnIo, 0n)),
        next,
      };
    },
  );

  router.add(
    { method: 'get', path: '/v1/explorer/leases', summary: 'Leases by id with their anchored terms hash, anchors, reservation, charge and refund', tag: 'explorer', auth: false, query: explorerQuerySchema, response: explorerLeasesResponseSchema },
    async ({ query }) => {
      const leases = await store.leases.list({ limit: query.limit, ...(query.cursor !== undefined ? { afterId: query.cursor as LeaseId } : {}) });
      const out = [];
      for (const l of leases) {
        const a = await store.escrow.get(l.id);
        const io = (v: bigint | null | undefined) => (v === null || v === undefined ? null : formatDecimal(v));
        out.push({
          id: l.id, state: l.state, gpuModel: l.gpuModel, slots: l.slots, createdAt: l.createdAtMs, endedAt: l.endedAtMs,
          termsHash: a?.termsHash ?? null, openAnchor: a?.openAnchor ?? null, closeAnchor: a?.closeAnchor ?? null,
          reservedIo: io(a?.reservedIo), chargedIo: io(a?.chargedIo), refundIo: io(a?.refundIo),
        });
      }
      return { leases: out, next: leases.length === query.limit ? (leases.at(-1)?.id ?? null) : null };
    },
  );
}
