import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openEmbeddedLedger, signerFromSeed, type EmbeddedLedger } from '@idlegrid/chain';
import { seededRandom, toAddress, type Address, type LeaseId } from '@idlegrid/domain';
import { generateKeypair } from '@idlegrid/protocol';
import { openStore, type Store } from '@idlegrid/store';
import { auditLease } from '../../apps/cloud/src/settlement/audit.ts';
import { withdrawalMemo } from '../../apps/cloud/src/settlement/chain-tasks.ts';
import { CRASH_POINTS } from '../../apps/cloud/src/settlement/crash-points.ts';
import { billableSeconds } from '../../apps/cloud/src/settlement/metering.ts';
import { storeIdempotency } from '../../apps/cloud/src/settlement/store-idempotency.ts';
import { seedLease } from '../../apps/cloud/src/testing/settlement-fixture.ts';
import { CLI } from './cli-process.ts';

const KILLS = 30;
const PRICE = 3_600_000n; // 1,000 µIO per slot-second at 1.00 USD per IO

async function withBooks<T>(dir: string, fn: (store: Store, ledger: EmbeddedLedger) => Promise<T>): Promise<T> {
  const store = await openStore({ kind: 'sqlite', path: join(dir, 'idlegrid.sqlite') });
  const ledger = await openEmbeddedLedger({ dataDir: join(dir, 'chain'), idempotency: storeIdempotency(store) });
  try {
    await ledger.bootstrap();
    return await fn(store, ledger);
  } finally {
    await ledger.close();
    await store.close();
  }
}

/** Runs `cloud serve` on the data dir until it dies (or `untilMs` passes: then it is SIGKILLed too). */
function serve(dir: string, crashAt: string | null, untilMs: number): Promise<{ signal: NodeJS.Signals | null; selfKilled: boolean }> {
  const env = { ...process.env, LOG_LEVEL: 'warn', IDLEGRID_SETTLE_SECONDS: '1', ...(crashAt ? { IDLEGRID_CRASH_AT: crashAt } : {}) };
  const child = spawn(process.execPath, [CLI, 'cloud', 'serve', '--port', '0', '--data-dir', dir, '--json'], { env, stdio: 'ignore' });
  let external = false;
  const timer = setTimeout(() => {
    external = true;
    child.kill('SIGKILL');
  }, untilMs);
  return new Promise((resolve) => {
    child.on('exit', (_code, signal) => {
      clearTimeout(timer);
      resolve({ signal, selfKilled: !external && signal === 'SIGKILL' });
    });
  });
}

/**
 * Crash safety of settlement: the control plane is killed with SIGKILL 30 times at random points
 * of settlement (after a batch is recorded, after a payment transaction is recorded, after it is
 * sent, after a batch, refund, anchor or withdrawal landed but before the store heard of it…)
 * while new ended leases and withdrawals keep arriving; each time it is restarted on the same data dir. Afterwards: every
 * billed second is paid exactly once, every refund and anchor is on chain once, audits agree.
 */
describe('settlement survives SIGKILL at 30 random points', () => {
  it('pays nothing twice and loses no billed second', async () => {
    const seed = Number(process.env['IDLEGRID_CRASH_SEED'] ?? Date.now() % 100_000);
    const random = seededRandom(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const dir = await mkdtemp(join(tmpdir(), 'idlegrid-crash-'));
    const buyer = signerFromSeed(new Uint8Array(randomBytes(32)));
    const suppliers = Array.from({ length: 40 }, () => ({ device: toAddress(generateKeypair().address), payout: toAddress(generateKeypair().address) }));
    await withBooks(dir, async (store, ledger) => {
      // A USDC deposit, credited but not yet converted on chain: the first run converts it (and dies doing so).
      await ledger.airdrop(buyer.address, { sol: 10n ** 9n, usdc: 1_000_000_000n });
      const d = await ledger.verifyDeposit(await ledger.buildDepositTransaction(buyer, 'USDC', 1_000_000_000n), { from: buyer.address, mint: 'USDC' });
      await store.wallets.credit({ signature: d.signature, wallet: buyer.address, token: 'USDC', amountPaid: d.amount, ioCredited: 980_000_000n, fee: 20_000_000n, atMs: Date.now() });
    });

    const leases: LeaseId[] = [];
    let selfKilled = 0;
    for (let i = 0; i < KILLS; i++) {
      // While the control plane is down, another lease ends with a random set of suppliers.
      await withBooks(dir, async (store) => {
        const now = Date.now();
        const chosen = [...suppliers].sort(() => random() - 0.5).slice(0, 5 + Math.floor(random() * 26));
        const seconds = 30 + Math.floor(random() * 90);
        // …and the buyer asks for a little escrow back (recorded, sent by the next round).
        await store.wallets.withdraw({ id: `wdr_test_${i}`, wallet: buyer.address, amountIo: 10_000n, atMs: now });
        leases.push(await seedLease(store, {
          buyer: buyer.address, createdAtMs: now - 300_000, readyAtMs: now - 290_000, endedAtMs: now - 290_000 + seconds * 1000 + 400,
          expiresAtMs: now + 3_600_000, reservedIo: 10_000_000n, seed: i + 1,
          nodes: chosen.map((s) => ({ ...s, slots: 1 + Math.floor(random() * 2), price: PRICE, joinedAtMs: now - 295_000, endedAtMs: now - 290_000 + seconds * 1000 + 400 })),
        }));
      });
      // Points reached once per run are hit the first time; the per-transaction ones at a random occurrence.
      const name = i === 0 ? 'convert.sent' : pick(CRASH_POINTS.filter((p) => p !== 'convert.sent'));
      const point = name.startsWith('ledger.') || name === 'anchor.sent' ? `${name}#${1 + Math.floor(random() * 3)}` : name;
      const outcome = await serve(dir, point, 15_000);
      expect(outcome.signal, `run ${i} (${point})`).toBe('SIGKILL');
      if (outcome.selfKilled) selfKilled++;
    }
    // A last run without crashes finishes whatever is left.
    const final = serve(dir, null, 25_000);
    await final;

    await withBooks(dir, async (store, ledger) => {
      const expected = new Map<Address, bigint>();
      let refunds = 0n;
      for (const id of leases) {
        const lease = (await store.leases.get(id))!;
        const records = await store.settlement.recordsOfLease(id);
        for (const n of await store.leases.nodes(id)) {
          const billed = records.filter((r) => r.nodeId === n.id).reduce((s, r) => s + r.seconds, 0);
          expect(billed, `lease ${id} node ${n.id}`).toBe(billableSeconds(lease, n, Date.now()));
        }
        for (const r of records) expected.set(r.payout, (expected.get(r.payout) ?? 0n) + r.grossIo - r.feeIo);
        const account = (await store.escrow.get(id))!;
        expect(account.refundIo, `lease ${id} closed`).not.toBeNull();
        refunds += account.refundIo!;
        const audit = await auditLease(store, ledger, lease);
        expect(audit.checks.filter((c) => !c.ok), `audit of ${id}`).toEqual([]);
        expect(audit.settled).toBe(true);
      }
      for (const b of await store.settlement.listBatches({ limit: 1000 })) {
        expect(b.state).toBe('paid');
        expect(await ledger.findByMemo(b.memo)).toEqual(b.signatures);
      }
      for (const [payout, net] of expected) expect((await ledger.balances(payout)).io).toBe(net);
      for (let i = 0; i < KILLS; i++) {
        const w = (await store.wallets.withdrawal(`wdr_test_${i}`))!;
        expect(await ledger.findByMemo(withdrawalMemo(w.id))).toEqual([w.signature]);
      }
      expect((await ledger.balances(buyer.address)).io).toBe(refunds + BigInt(KILLS) * 10_000n);
      const info = ledger.info();
      expect(await ledger.tokenAccountBalance(info.accounts.IO.escrow)).toBe(await store.wallets.balance(buyer.address));
      expect(await ledger.tokenAccountBalance(info.accounts.USDC.treasury)).toBe(1_000_000_000n);
      expect((await ledger.conservation('IO')).ok).toBe(true);
    });
    console.log(JSON.stringify({ crash_seed: seed, kills: KILLS, killed_at_a_settlement_point: selfKilled, leases: leases.length }));
    expect(selfKilled).toBeGreaterThanOrEqual(KILLS / 2);
  }, 1_200_000);
});
