import type { Migration, MigrationProvider } from 'kysely';
import type { StoreKind } from '../repo-context.ts';
import type { StoreMigration } from './migration.ts';
import { migration as m0001 } from './0001-initial.ts';
import { migration as m0002 } from './0002-leases.ts';
import { migration as m0003 } from './0003-wallets.ts';
import { migration as m0004 } from './0004-settlement.ts';
import { migration as m0005 } from './0005-withdrawals.ts';
import { migration as m0006 } from './0006-verification.ts';
import { migration as m0007 } from './0007-staking.ts';
import { migration as m0008 } from './0008-epochs.ts';

/** Every migration, by name. Names sort in the order they run; append new ones at the end. */
export const MIGRATIONS: ReadonlyArray<readonly [name: string, migration: StoreMigration]> = [
  ['0001-initial', m0001],
  ['0002-leases', m0002],
  ['0003-wallets', m0003],
  ['0004-settlement', m0004],
  ['0005-withdrawals', m0005],
  ['0006-verification', m0006],
  ['0007-staking', m0007],
  ['0008-epochs', m0008],
];

/** An in-code provider (no file system scanning), binding each migration to the dialect. */
export function migrationProvider(kind: StoreKind): MigrationProvider {
  return {
    getMigrations: () =>
      Promise.resolve(
        Object.fromEntries(
          MIGRATIONS.map(([name, m]): [string, Migration] => [name, { up: (db) => m.up(db, kind) }]),
        ),
      ),
  };
}
