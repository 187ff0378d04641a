import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { openPgChannel, pgLeaderLock, PG_NOTIFY_MAX_BYTES } from './pg-coordination.ts';
import { acquireTestPostgres } from './testing/test-database.ts';

/** Real PostgreSQL: LISTEN/NOTIFY between connections and the advisory leader lock. */
describe('PostgreSQL coordination (real server)', () => {
  let server: { url: string; stop(): Promise<void> };
  beforeAll(async () => {
    server = await acquireTestPostgres();
  }, 60_000);
  afterAll(async () => {
    await server.stop();
  });

  async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > end) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('delivers notifications to every listener in order, refuses oversized payloads, and re-listens after its session is killed', async () => {
    const gotA: string[] = [];
    const gotB: string[] = [];
    let reconnects = 0;
    const a = await openPgChannel({ url: server.url, channel: 'test_bus', onMessage: (p) => gotA.push(p) });
    const b = await openPgChannel({ url: server.url, channel: 'test_bus', onMessage: (p) => gotB.push(p), onReconnect: () => reconnects++, retryMs: 100 });
    for (let i = 0; i < 20; i++) await a.publish(`m${i}`);
    await until(() => gotB.length === 20 && gotA.length === 20);
    expect(gotB).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
    expect(gotA).toEqual(gotB);
    await expect(a.publish('x'.repeat(PG_NOTIFY_MAX_BYTES + 1))).rejects.toThrow(/over/);

    // Kill b's session from outside (b only listened, so LISTEN is its last statement), as a server restart would.
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    const killed = await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity where query = 'LISTEN test_bus' and pid <> pg_backend_pid()`);
    expect(killed.rowCount).toBe(1);
    await until(() => reconnects >= 1);
    await a.publish('after');
    await until(() => gotB.includes('after'));
    await admin.end();
    await a.close();
    await b.close();
  });

  it('gives the leader lock to one holder at a time, and to another once the holder’s session ends', async () => {
    const lost: string[] = [];
    const first = pgLeaderLock({ url: server.url, key: 42, onLost: (r) => lost.push(`first: ${r}`) });
    const second = pgLeaderLock({ url: server.url, key: 42, onLost: (r) => lost.push(`second: ${r}`) });
    expect(await first.tryAcquire()).toBe(true);
    expect(await second.tryAcquire()).toBe(false);
    expect(await first.healthy()).toBe(true);
    expect(await second.healthy()).toBe(false);

    // The holder's backend is terminated (its host vanished): it learns it lost the lock, the other can take it.
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query(`select pg_terminate_backend(pid) from pg_locks where locktype = 'advisory' and objid = 42 and granted`);
    await until(() => lost.length === 1);
    expect(lost[0]).toMatch(/^first: /);
    expect(first.held).toBe(false);
    let taken = false;
    for (let i = 0; i < 50 && !taken; i++) {
      taken = await second.tryAcquire();
      if (!taken) await new Promise((r) => setTimeout(r, 100));
    }
    expect(taken).toBe(true);
    expect(await first.tryAcquire()).toBe(false);
    await admin.end();
    await second.close();
    expect(await first.tryAcquire()).toBe(true);
    await first.close();
    expect(lost).toHaveLength(1);
  });
});
