import { expect, it } from 'vitest';
import { describeEachStore } from '../testing/store-harness.ts';

const T0 = 1_700_000_000_000;

describeEachStore('events', ({ open }) => {
  it('appends with increasing seq and round-trips JSON data', async () => {
    const store = await open();
    const data = { nested: { list: [1, 'two', null, true], unicode: 'Grüße ✓ 日本' }, n: 1.5 };
    const first = await store.events.append({ kind: 'device.online', subject: 'dev-a', data, atMs: T0 });
    const second = await store.events.append({ kind: 'device.offline', subject: 'dev-a', data: null, atMs: T0 + 1 });
    expect(first).toEqual({ seq: first.seq, kind: 'device.online', subject: 'dev-a', data, atMs: T0 });
    expect(second.seq).toBeGreaterThan(first.seq);
    expect(await store.events.list({ limit: 10 })).toEqual([first, second]);
  });

  it('filters by kind and subject and pages forward by seq', async () => {
    const store = await open();
    for (let i = 0; i < 30; i++) {
      await store.events.append({ kind: i % 3 === 0 ? 'lease.created' : 'device.online', subject: `s${i % 2}`, data: { i }, atMs: T0 + i });
    }
    const seen: number[] = [];
    let afterSeq: number | undefined;
    for (;;) {
      const page = await store.events.list({ kind: 'device.online', limit: 6, afterSeq });
      if (page.length === 0) break;
      for (const e of page) seen.push((e.data as { i: number }).i);
      afterSeq = page.at(-1)?.seq;
    }
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => i).filter((i) => i % 3 !== 0));
    const s1Leases = await store.events.list({ kind: 'lease.created', subject: 's1', limit: 100 });
    expect(s1Leases.map((e) => e.atMs - T0)).toEqual([3, 9, 15, 21, 27]);
  });

  it('lists newest first and pages back with beforeSeq', async () => {
    const store = await open();
    const appended = [];
    for (let i = 0; i < 5; i++) appended.push(await store.events.append({ kind: 'k', subject: 's', data: i, atMs: T0 }));
    const newest = await store.events.list({ limit: 2, order: 'desc' });
    expect(newest.map((e) => e.data)).toEqual([4, 3]);
    const older = await store.events.list({ limit: 2, order: 'desc', beforeSeq: newest.at(-1)?.seq });
    expect(older.map((e) => e.data)).toEqual([2, 1]);
    expect(await store.events.list({ limit: 10, afterSeq: appended[1]?.seq, beforeSeq: appended[4]?.seq })).toEqual(appended.slice(2, 4));
  });

  it('keeps seq unique and ordered under concurrent appends', async () => {
    const store = await open();
    const records = await Promise.all(
      Array.from({ length: 40 }, (_, i) => store.events.append({ kind: 'k', subject: `s${i}`, data: i, atMs: T0 + i })),
    );
    const seqs = records.map((r) => r.seq);
    expect(new Set(seqs).size).toBe(40);
    const listed = await store.events.list({ limit: 100 });
    expect(listed.map((e) => e.seq)).toEqual([...seqs].sort((a, b) => a - b));
  });
});
