import { sql, type Selectable } from 'kysely';
import type { Address } from '@idlegrid/domain';
import { assertInteger, toBigint, toNumber } from '../convert.ts';
import { guardRepo } from '../errors.ts';
import { inTransaction, type RepoContext } from '../repo-context.ts';
import type { DepositsTable, WithdrawalsTable } from '../schema.ts';

export type DepositToken = 'IO' | 'USDC';

/** One deposit credited to a wallet's escrow balance. Amounts are base units (6 decimals). */
export interface DepositRecord {
  /** The deposit transaction's signature: a deposit is credited at most once per signature. */
  signature: string;
  wallet: Address;
  token: DepositToken;
  /** Base units of `token` that reached the escrow account. */
  amountPaid: bigint;
  /** IO base units added to the wallet's escrow balance. */
  ioCredited: bigint;
  /** Conversion fee in IO base units (0 for an IO deposit). */
  fee: bigint;
  atMs: number;
}

/** Escrow IO sent back to the wallet that deposited it. */
export interface WithdrawalRecord {
  id: string;
  wallet: Address;
  amountIo: bigint;
  /** null until the transfer landed. */
  signature: string | null;
  atMs: number;
}

export interface CreditResult {
  /** The stored deposit: the new one, or the one already recorded under this signature. */
  deposit: DepositRecord;
  /** False when the signature had been credited before (nothing changed). */
  credited: boolean;
}

export interface WalletsRepo {
  /**
   * Records the deposit and adds `ioCredited` to the wallet's escrow balance, in one
   * transaction. Idempotent by signature: a signature already recorded credits nothing and
   * returns the stored deposit with `credited: false` (the primary key decides, so concurrent
   * calls with one signature credit once).
   */
  credit(deposit: DepositRecord): Promise<CreditResult>;
  /** The wallet's escrow balance in IO base units (0 for a wallet that never deposited). */
  balance(wallet: Address): Promise<bigint>;
  /** The wallet's deposits, newest first. */
  deposits(wallet: Address, options?: { limit?: number }): Promise<DepositRecord[]>;
  /** The deposit recorded under this signature, or null. */
  deposit(signature: string): Promise<DepositRecord | null>;
  /** USDC deposits whose IO credit is not yet backed on chain (no conversion transaction recorded), oldest first. */
  unconverted(limit: number): Promise<DepositRecord[]>;
  /** Records the transaction that converted a USDC deposit (USDC to treasury, IO minted into escrow). */
  setConversion(signature: string, conversionSignature: string): Promise<void>;
  /** The conversion transaction of a USDC deposit, or null. */
  conversionOf(signature: string): Promise<string | null>;
  /**
   * Debits `amountIo` from the wallet's escrow balance and records the withdrawal, in one
   * transaction; null (nothing changed) when the balance is short.
   */
  withdraw(w: Omit<WithdrawalRecord, 'signature'>): Promise<WithdrawalRecord | null>;
  /** Withdrawals recorded but not yet confirmed on chain, oldest first. */
  unsentWithdrawals(limit: number): Promise<WithdrawalRecord[]>;
  setWithdrawalSignature(id: string, signature: string): Promise<void>;
  withdrawal(id: string): Promise<WithdrawalRecord | null>;
}

export function walletsRepo(ctx: RepoContext): WalletsRepo {
  const { db } = ctx;
  const findDeposit = async (signature: string): Promise<DepositRecord | null> => {
    const row = await db.selectFrom('deposits').selectAll().where('signature', '=', signature).executeTakeFirst();
    return row === undefined ? null : toDepositRecord(row);
  };
  return guardRepo('wallets', {
    async credit(deposit) {
      assertAmount('amountPaid', deposit.amountPaid, false);
      assertAmount('ioCredited', deposit.ioCredited, true);
      assertAmount('fee', deposit.fee, true);
      const at = assertInteger('atMs', deposit.atMs);
      const inserted = await inTransaction(ctx, async (trx) => {
        const row = await trx
          .insertInto('deposits')
          .values({
            signature: deposit.signature,
            wallet: deposit.wallet,
            token: deposit.token,
            amount_paid: deposit.amountPaid,
            io_credited: deposit.ioCredited,
            fee: deposit.fee,
            at_ms: at,
          })
          // The primary key on signature is the guard: a replay inserts nothing (and, unlike a
          // raised unique violation, leaves an enclosing PostgreSQL transaction usable).
          .onConflict((oc) => oc.column('signature').doNothing())
          .returningAll()
          .executeTakeFirst();
        if (row === undefined) return null;
        await trx
          .insertInto('wallet_balances')
          .values({ wallet: deposit.wallet, escrow_io: deposit.ioCredited, updated_at_ms: at })
          .onConflict((oc) =>
            oc.column('wallet').doUpdateSet((eb) => ({
              escrow_io: eb('wallet_balances.escrow_io', '+', eb.ref('excluded.escrow_io')),
              updated_at_ms: eb.ref('excluded.updated_at_ms'),
            })),
          )
          .execute();
        return toDepositRecord(row);
      });
      if (inserted !== null) return { deposit: inserted, credited: true };
      const existing = await findDeposit(deposit.signature);
      if (existing === null) throw new Error(`deposit ${deposit.signature} conflicted but is not stored`);
      return { deposit: existing, credited: false };
    },

    async balance(wallet) {
      const row = await db.selectFrom('wallet_balances').select('escrow_io').where('wallet', '=', wallet).executeTakeFirst();
      return row === undefined ? 0n : toBigint(row.escrow_io);
    },

    async deposits(wallet, options = {}) {
      const rows = await db
        .selectFrom('deposits')
        .selectAll()
        .where('wallet', '=', wallet)
        .orderBy('at_ms', 'desc')
        .orderBy('signature', 'desc')
        .limit(assertInteger('limit', options.limit ?? 100))
        .execute();
      return rows.map(toDepositRecord);
    },

    deposit: findDeposit,

    async unconverted(limit) {
      const rows = await db
        .selectFrom('deposits')
        .selectAll()
        .where('token', '=', 'USDC')
        .where('conversion_signature', 'is', null)
        .orderBy('at_ms')
        .orderBy('signature')
        .limit(assertInteger('limit', limit))
        .execute();
      return rows.map(toDepositRecord);
    },

    async setConversion(signature, conversionSignature) {
      await db.updateTable('deposits').set({ conversion_signature: conversionSignature }).where('signature', '=', signature).execute();
    },

    async withdraw(w) {
      assertAmount('amountIo', w.amountIo, false);
      const at = assertInteger('atMs', w.atMs);
      return inTransaction(ctx, async (trx) => {
        const debited = await trx
          .updateTable('wallet_balances')
          .set({ escrow_io: sql<bigint>`escrow_io - ${w.amountIo}`, updated_at_ms: at })
          .where('wallet', '=', w.wallet)
          .where('escrow_io', '>=', w.amountIo)
          .executeTakeFirst();
        if (debited.numUpdatedRows !== 1n) return null;
        const row = await trx.insertInto('withdrawals').values({ id: w.id, wallet: w.wallet, amount_io: w.amountIo, signature: null, at_ms: at }).returningAll().executeTakeFirstOrThrow();
        return toWithdrawal(row);
      });
    },

    async unsentWithdrawals(limit) {
      const rows = await db.selectFrom('withdrawals').selectAll().where('signature', 'is', null).orderBy('at_ms').orderBy('id').limit(assertInteger('limit', limit)).execute();
      return rows.map(toWithdrawal);
    },

    async setWithdrawalSignature(id, signature) {
      await db.updateTable('withdrawals').set({ signature }).where('id', '=', id).execute();
    },

    async withdrawal(id) {
      const row = await db.selectFrom('withdrawals').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? null : toWithdrawal(row);
    },

    async conversionOf(signature) {
      const row = await db.selectFrom('deposits').select('conversion_signature').where('signature', '=', signature).executeTakeFirst();
      return row?.conversion_signature ?? null;
    },
  });
}

function assertAmount(name: string, value: bigint, zeroOk: boolean): void {
  if (value < 0n || (!zeroOk && value === 0n) || value >= 2n ** 63n) throw new RangeError(`${name} out of range: ${value}`);
}

function toWithdrawal(row: Selectable<WithdrawalsTable>): WithdrawalRecord {
  return { id: row.id, wallet: row.wallet as Address, amountIo: toBigint(row.amount_io), signature: row.signature, atMs: toNumber(row.at_ms) };
}

function toDepositRecord(row: Selectable<DepositsTable>): DepositRecord {
  return {
    signature: row.signature,
    wallet: row.wallet as Address,
    token: row.token as DepositToken,
    amountPaid: toBigint(row.amount_paid),
    ioCredited: toBigint(row.io_credited),
    fee: toBigint(row.fee),
    atMs: toNumber(row.at_ms),
  };
}
