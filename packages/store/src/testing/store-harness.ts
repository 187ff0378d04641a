import { afterAll, afterEach, beforeAll, describe } from 'vitest';
import { openStore } from '../open-store.ts';
import type { StoreKind } from '../repo-context.ts';
import type { Store } from '../store.ts';
import { acquireTestPostgres, createTestSchema } from './test-database.ts';

export interface StoreHarness {
  readonly kind: StoreKind;
  /** A fresh, empty, migrated store (SQLite in memory, or a new PostgreSQL schema); closed after each test. */
  open: () => Promise<Store>;
  /** Options that open the same database as the last open() again (for reopen tests). */
  lastOptions: () => Parameters<typeof openStore>[0];
}

const ALL_KINDS: readonly StoreKind[] = ['sqlite', 'postgres'];

/**
 * Runs the same suite against every dialect: `describe.each` over SQLite and PostgreSQL.
 * The PostgreSQL block starts one server for the file (or uses IDLEGRID_TEST_DATABASE_URL)
 * and gives each open() its own schema.
 */
export function describeEachStore(title: string, body: (harness: StoreHarness) => void): void {
  describe.each(ALL_KINDS)(`${title} [%s]`, (kind) => {
    let server: { url: string; stop(): Promise<void> } | undefined;
    const opened: Store[] = [];
    const schemas: Array<() => Promise<void>> = [];
    let last: Parameters<typeof openStore>[0] | undefined;

    beforeAll(async () => {
      if (kind === 'postgres') server = await acquireTestPostgres();
    });
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close().catch(() => undefined)));
    });
    afterAll(async () => {
      for (const drop of schemas.splice(0)) await drop().catch(() => undefined);
      await server?.stop();
    });

    body({
      kind,
      async open() {
        if (kind === 'sqlite') {
          last = { kind: 'sqlite', path: ':memory:' };
        } else {
          if (server === undefined) throw new Error('test PostgreSQL is not running');
          const schema = await createTestSchema(server.url);
          schemas.push(schema.drop);
          last = { kind: 'postgres', url: schema.url };
        }
        const store = await openStore(last);
        opened.push(store);
        return store;
      },
      lastOptions() {
        if (last === undefined) throw new Error('open() was not called');
        return last;
      },
    });
  });
}
