import { IdlegridError } from '@idlegrid/domain';
import { toStoreError } from './errors.ts';
import type { RepoContext, StoreKind } from './repo-context.ts';
import { apiKeysRepo, type ApiKeysRepo } from './repos/api-keys.ts';
import { authChallengesRepo, type AuthChallengesRepo } from './repos/auth-challenges.ts';
import { devicesRepo, type DevicesRepo } from './repos/devices.ts';
import { eventsRepo, type EventsRepo } from './repos/events.ts';
import { leasesRepo, type LeasesRepo } from './repos/leases.ts';
import { escrowRepo, type EscrowRepo } from './repos/escrow.ts';
import { epochsRepo, type EpochsRepo } from './repos/epochs.ts';
import { governanceRepo, type GovernanceRepo } from './repos/governance.ts';
import { settlementRepo, type SettlementRepo } from './repos/settlement.ts';
import { stakesRepo, type StakesRepo } from './repos/stakes.ts';
import { verificationsRepo, type VerificationsRepo } from './repos/verifications.ts';
import { walletsRepo, type WalletsRepo } from './repos/wallets.ts';

/** The persistence port of idlegrid: small repositories over one database. */
export interface Store {
  readonly kind: StoreKind;
  readonly devices: DevicesRepo;
  readonly apiKeys: ApiKeysRepo;
  readonly authChallenges: AuthChallengesRepo;
  readonly events: EventsRepo;
  readonly leases: LeasesRepo;
  /** Escrow balances and the deposits credited to them. */
  readonly wallets: WalletsRepo;
  /** Lease escrow accounts: reservations, charges, refunds, chain anchors. */
  readonly escrow: EscrowRepo;
  /** Settlement batches, meter records, agents' usage reports, the ledger's idempotency entries. */
  readonly settlement: SettlementRepo;
  // verification repo
  /** Proof-of-GPU challenges with their verdicts, and suspended devices. */
  readonly verifications: VerificationsRepo;
  // staking and governance repos
  /** Device stakes, unstake requests and slashes (the stake vault's books). */
  readonly stakes: StakesRepo;
  /** Governance proposals, their stake snapshots, signed votes, and the applied parameter history. */
  readonly governance: GovernanceRepo;
  /** Reward epochs, their rewards, and the reputation state carried between epochs. */
  readonly epochs: EpochsRepo;
  /**
   * Runs `fn` in one database transaction: it commits when `fn` resolves and rolls back
   * when it throws (the error is rethrown unchanged). Use only the store passed to `fn`
   * inside it (on SQLite the outer store waits for the transaction: using it deadlocks).
   * A nested call joins the enclosing transaction.
   */
  transaction<T>(fn: (store: Store) => Promise<T>): Promise<T>;
  /** Closes the connection or pool. Not allowed on a transaction's store. */
  close(): Promise<void>;
}

/** Builds the repositories over a Kysely handle. Add a new repository here. */
export function createStore(ctx: RepoContext): Store {
  const { db, kind, inTransaction } = ctx;
  const store: Store = {
    kind,
    devices: devicesRepo(ctx),
    apiKeys: apiKeysRepo(ctx),
    authChallenges: authChallengesRepo(ctx),
    events: eventsRepo(ctx),
    leases: leasesRepo(ctx),
    wallets: walletsRepo(ctx),
    escrow: escrowRepo(ctx),
    settlement: settlementRepo(ctx),
    // verification repo
    verifications: verificationsRepo(ctx),
    // staking and governance repos
    stakes: stakesRepo(ctx),
    governance: governanceRepo(ctx),
    epochs: epochsRepo(ctx),
    async transaction<T>(fn: (store: Store) => Promise<T>): Promise<T> {
      if (inTransaction) return fn(store);
      // Errors from fn pass through untouched; only begin/commit failures become STORE_ERROR.
      let failedInFn = false;
      try {
        return await db.transaction().execute(async (trx) => {
          try {
            return await fn(createStore({ ...ctx, db: trx, inTransaction: true }));
          } catch (error) {
            failedInFn = true;
            throw error;
          }
        });
      } catch (error) {
        if (failedInFn) throw error;
        throw toStoreError('transaction', error);
      }
    },
    async close() {
      if (inTransaction) {
        throw new IdlegridError('STORE_ERROR', { operation: 'close', reason: 'cannot close a store inside a transaction' });
      }
      try {
        await db.destroy();
      } catch (error) {
        throw toStoreError('close', error);
      }
    },
  };
  return store;
}
