import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { isIdlegridError, type DeviceId } from '@idlegrid/domain';
import { MIGRATIONS } from './migrations/index.ts';
import { openSqlite, openStore } from './open-store.ts';
import { describeEachStore } from './testing/store-harness.ts';
import { deviceIds, hello } from './test-fixtures.ts';

const T0 = 1_700_000_000_000;

describeEachStore('store', ({ kind, open, lastOptions }) => {
  it('reports its kind', async () => {
    expect((await open()).kind).toBe(kind);
  });

  it('commits a transaction when the function resolves', async () => {
    const store = await open();
    const [a, b] = deviceIds(2) as [DeviceId, DeviceId];
    const result = await store.transaction(async (tx) => {
      await tx.devices.upsertOnHello(hello(a));
      await tx.events.append({ kind: 'device.online', subject: a, data: null, atMs: T0 });
      // A nested transaction joins the outer one.
      await tx.transaction((inner) => inner.devices.upsertOnHello(hello(b)));
      return 42;
    });
    expect(result).toBe(42);
    expect(await store.devices.count({})).toBe(2);
    expect(await store.events.list({ limit: 10 })).toHaveLength(1);
  });

  it('rolls back when the function throws and rethrows the same error', async () => {
    const store = await open();
    const [a] = deviceIds(1) as [DeviceId];
    const boom = new Error('boom');
    await expect(
      store.transaction(async (tx) => {
        await tx.devices.upsertOnHello(hello(a));
        await tx.events.append({ kind: 'device.online', subject: a, data: null, atMs: T0 });
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await store.devices.get(a)).toBeNull();
    expect(await store.events.list({ limit: 10 })).toEqual([]);
  });

  it('includes heartbeat batches in the transaction they run in', async () => {
    const store = await open();
    const [a] = deviceIds(1) as [DeviceId];
    await store.devices.upsertOnHello(hello(a));
    await expect(
      store.transaction(async (tx) => {
        expect(await tx.devices.markSeenBatch([{ id: a, lastSeenMs: T0 + 5 }])).toBe(1);
        expect((await tx.devices.get(a))?.lastSeenMs).toBe(T0 + 5);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect((await store.devices.get(a))?.lastSeenMs).toBe(T0);
  });

  it('keeps a heartbeat batch outside a concurrent transaction that rolls back', async () => {
    const store = await open();
    const [a] = deviceIds(1) as [DeviceId];
    await store.devices.upsertOnHello(hello(a));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const rolledBack = store.transaction(async (tx) => {
      await tx.devices.updateStanding(a, { reputation: 7 });
      entered();
      await new Promise((r) => setTimeout(r, 50));
      throw new Error('roll back');
    });
    await inside;
    const batch = store.devices.markSeenBatch([{ id: a, lastSeenMs: T0 + 9 }]);
    await expect(rolledBack).rejects.toThrow('roll back');
    expect(await batch).toBe(1);
    expect(await store.devices.get(a)).toMatchObject({ lastSeenMs: T0 + 9, reputation: 0 });
  });

  it('refuses close() inside a transaction', async () => {
    const store = await open();
    await expect(store.transaction((tx) => tx.close())).rejects.toMatchObject({ code: 'STORE_ERROR' });
  });

  it('wraps driver failures as STORE_ERROR naming the operation', async () => {
    const store = await open();
    await store.close();
    const error: unknown = await store.devices.get(deviceIds(1)[0] as DeviceId).catch((e: unknown) => e);
    expect(isIdlegridError(error, 'STORE_ERROR')).toBe(true);
    expect(error).toMatchObject({ context: { operation: 'devices.get' } });
  });

  it('opens an already migrated database again without changes', async () => {
    const store = await open();
    const [a] = deviceIds(1) as [DeviceId];
    await store.devices.upsertOnHello(hello(a));
    if (kind === 'sqlite') return; // in-memory: the file-based reopen test below covers SQLite
    const again = await openStore(lastOptions());
    try {
      expect((await again.devices.get(a))?.id).toBe(a);
    } finally {
      await again.close();
    }
  });

  it('lets several replicas migrate the same database at once', async () => {
    if (kind === 'sqlite') return;
    await open();
    const options = lastOptions();
    const stores = await Promise.all([openStore(options), openStore(options), openStore(options)]);
    await Promise.all(stores.map((s) => s.close()));
  });
});

describe('sqlite file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'idlegrid-store-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps data across reopen, runs each migration once, uses WAL and foreign keys', async () => {
    const path = join(dir, 'nested', 'idlegrid.sqlite');
    const [a] = deviceIds(1) as [DeviceId];
    const first = await openStore({ kind: 'sqlite', path });
    await first.devices.upsertOnHello(hello(a));
    await first.close();

    const second = await openStore({ kind: 'sqlite', path });
    await second.close();
    const third = await openStore({ kind: 'sqlite', path });
    try {
      expect((await third.devices.get(a))?.pricePerGpuHour).toBe(hello(a).pricePerGpuHour);
    } finally {
      await third.close();
    }

    // Inspect the file directly.
    const { default: BetterSqlite3 } = await import('better-sqlite3');
    const raw = new BetterSqlite3(path);
    try {
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
      const names = raw.prepare('select name from kysely_migration order by name').pluck().all();
      expect(names).toEqual(MIGRATIONS.map(([name]) => name));
    } finally {
      raw.close();
    }
  });

  it('turns foreign keys on, sets a busy timeout and reads integers as bigint', async () => {
    const { db } = openSqlite(join(dir, 'pragmas.sqlite'), 1234);
    try {
      const pragma = async (name: string) => (await sql.raw<Record<string, unknown>>(`pragma ${name}`).execute(db)).rows[0];
      expect(await pragma('foreign_keys')).toEqual({ foreign_keys: 1n });
      expect(await pragma('busy_timeout')).toEqual({ timeout: 1234n });
      expect(await pragma('journal_mode')).toEqual({ journal_mode: 'wal' });
    } finally {
      await db.destroy();
    }
  });
});
