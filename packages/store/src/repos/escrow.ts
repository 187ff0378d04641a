import { sql, type Selectable } from 'kysely';
import type { Address, LeaseId } from '@idlegrid/domain';
import { assertInteger, toBigint, toNumberOrNull } from '../convert.ts';
import { guardRepo } from '../errors.ts';
import type { RepoContext } from '../repo-context.ts';
import type { LeaseAccountsTable } from '../schema.ts';

/** A lease's escrow account: IO base units reserved from the buyer, charged by settlement, refunded at the end. */
export interface LeaseAccountRecord {
  leaseId: LeaseId;
  buyer: Address;
  reservedIo: bigint;
  chargedIo: bigint;
  /** sha256 hex of the lease's terms, anchored on chain as `idlegrid:lease:<id>:<hash>`. */
  termsHash: string;
  openAnchor: string | null;
  closeAnchor: string | null;
  /** reserved − charged, fixed at close-out; null while the lease is still metered. */
  refundIo: bigint | null;
  refundSignature: string | null;
  closedAtMs: number | null;
}

export type AnchorKind = 'open' | 'close';

export interface EscrowRepo {
  /**
   * Moves `amount` from the buyer's escrow balance into a new lease account. Returns false
   * (and changes nothing) when the balance is short. Run it in the transaction that creates the lease.
   */
  open(account: { leaseId: LeaseId; buyer: Address; reservedIo: bigint; termsHash: string }, atMs: number): Promise<boolean>;
  /** Moves `amount` more from the buyer's balance into the lease account; false when the balance is short. */
  reserveMore(leaseId: LeaseId, amount: bigint, atMs: number): Promise<boolean>;
  get(leaseId: LeaseId): Promise<LeaseAccountRecord | null>;
  setAnchor(leaseId: LeaseId, kind: AnchorKind, signature: string): Promise<void>;
  /** Fixes the refund (reserved − charged) once; later calls return the record unchanged. */
  close(leaseId: LeaseId, atMs: number): Promise<LeaseAccountRecord | null>;
  setRefundSignature(leaseId: LeaseId, signature: string): Promise<void>;
  /** Accounts with chain work left: a missing anchor, or a refund not yet sent. */
  unfinished(limit: number): Promise<LeaseAccountRecord[]>;
  /** Accounts not closed yet (their leases are still metered), by lease id. */
  listOpen(): Promise<LeaseAccountRecord[]>;
}

export function escrowRepo(ctx: RepoContext): EscrowRepo {
  const { db } = ctx;
  const get = async (leaseId: LeaseId): Promise<LeaseAccountRecord | null> => {
    const row = await db.selectFrom('lease_accounts').selectAll().where('lease_id', '=', leaseId).executeTakeFirst();
    return row === undefined ? null : toRecord(row);
  };
  const debit = async (buyer: Address, amount: bigint, atMs: number): Promise<boolean> => {
    assertAmount(amount);
    if (amount === 0n) return true;
    const result = await db
      .updateTable('wallet_balances')
      .set({ escrow_io: sql<bigint>`escrow_io - ${amount}`, updated_at_ms: assertInteger('atMs', atMs) })
      .where('wallet', '=', buyer)
      .where('escrow_io', '>=', amount)
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  };
  return guardRepo('escrow', {
    async open(account, atMs) {
      if (!(await debit(account.buyer, account.reservedIo, atMs))) return false;
      await db
        .insertInto('lease_accounts')
        .values({ lease_id: account.leaseId, buyer: account.buyer, reserved_io: account.reservedIo, charged_io: 0, terms_hash: account.termsHash })
        .execute();
      return true;
    },
    async reserveMore(leaseId, amount, atMs) {
      const account = await get(leaseId);
      if (!account || account.closedAtMs !== null) return false;
      if (!(await debit(account.buyer, amount, atMs))) return false;
      await db.updateTable('lease_accounts').set({ reserved_io: sql<bigint>`reserved_io + ${amount}` }).where('lease_id', '=', leaseId).execute();
      return true;
    },
    get,
    async setAnchor(leaseId, kind, signature) {
      await db
        .updateTable('lease_accounts')
        .set(kind === 'open' ? { open_anchor: signature } : { close_anchor: signature })
        .where('lease_id', '=', leaseId)
        .execute();
    },
    async close(leaseId, atMs) {
      await db
        .updateTable('lease_accounts')
        .set({ refund_io: sql<bigint>`reserved_io - charged_io`, closed_at_ms: assertInteger('atMs', atMs) })
        .where('lease_id', '=', leaseId)
        .where('closed_at_ms', 'is', null)
        .execute();
      return get(leaseId);
    },
    async setRefundSignature(leaseId, signature) {
      await db.updateTable('lease_accounts').set({ refund_signature: signature }).where('lease_id', '=', leaseId).execute();
    },
    async unfinished(limit) {
      const rows = await db
        .selectFrom('lease_accounts')
        .selectAll()
        .where((eb) =>
          eb.or([
            eb('open_anchor', 'is', null),
            eb.and([eb('closed_at_ms', 'is not', null), eb.or([eb('close_anchor', 'is', null), eb.and([eb('refund_io', '>', 0), eb('refund_signature', 'is', null)])])]),
          ]),
        )
        .orderBy('lease_id')
        .limit(assertInteger('limit', limit))
        .execute();
      return rows.map(toRecord);
    },
    async listOpen() {
      const rows = await db.selectFrom('lease_accounts').selectAll().where('closed_at_ms', 'is', null).orderBy('lease_id').execute();
      return rows.map(toRecord);
    },
  });
}

function assertAmount(amount: bigint): void {
  if (amount < 0n || amount >= 2n ** 63n) throw new RangeError(`amount out of range: ${amount}`);
}

function toRecord(row: Selectable<LeaseAccountsTable>): LeaseAccountRecord {
  const refund = row.refund_io;
  return {
    leaseId: row.lease_id as LeaseId,
    buyer: row.buyer as Address,
    reservedIo: toBigint(row.reserved_io),
    chargedIo: toBigint(row.charged_io),
    termsHash: row.terms_hash,
    openAnchor: row.open_anchor,
    closeAnchor: row.close_anchor,
    refundIo: refund === null ? null : toBigint(refund),
    refundSignature: row.refund_signature,
    closedAtMs: toNumberOrNull(row.closed_at_ms),
  };
}
