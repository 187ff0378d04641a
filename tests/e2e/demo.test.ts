import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openEmbeddedLedger } from '@idlegrid/chain';
import { formatDecimal, type Address, type LeaseId } from '@idlegrid/domain';
import type { AuditResponse, ClusterView, WalletResponse } from '@idlegrid/protocol';
import { openStore, type MeterRecord } from '@idlegrid/store';
import { storeIdempotency } from '../../apps/cloud/src/settlement/store-idempotency.ts';
import { exited, runCli, startCliLines } from './cli-process.ts';

interface DemoLine {
  demo: {
    clusterId: string;
    depositedIo: string;
    job: { status: string; distinctNodes: number };
    releasedState: string;
    audit: { consistent: boolean; settled: boolean; money: AuditResponse['money'] };
  };
}

// The defaults: protocol_fee_bps 250, fee_burn_share_bps 5000, 1.00 USD per IO (so µUSD = µIO).
const FEE_BPS = 250n;

/**
 * The README's first command runs `idlegrid up --demo`: this is that main job, end to end, and
 * the settlement scenario: 3 agents; a buyer airdrops, deposits USDC, deploys 2 nodes, runs a Ray
 * job, releases early; then the chain and the store are re-read from the data dir and every amount
 * is checked exactly. A restart of `idlegrid up` on the same data dir keeps balances, leases and history.
 */
describe('idlegrid up --demo (the main job) and its settlement on the embedded chain', () => {
  it('books 2 nodes with USDC in escrow, runs a Ray job on both, releases early, pays exactly and refunds the rest', async () => {
    const root = await mkdtemp(join(tmpdir(), 'idlegrid-demo-'));
    const netDir = join(root, 'net');
    const env = { ...process.env, IDLEGRID_HOME: join(root, 'home'), LOG_LEVEL: 'warn' };
    const up = await startCliLines(['up', '--workers', '3', '--port', '0', '--data-dir', netDir, '--settle-seconds', '5', '--demo', '--json'], env, 2);
    up.child.kill('SIGTERM');
    expect(await exited(up.child, 30_000)).toBe(0);
    expect(up.lines[0]).toMatchObject({ ready: true, workers: 3 });
    const demo = (up.lines[1] as DemoLine).demo;
    expect(demo.depositedIo).toBe('49'); // 50 USDC at 1.00 minus 200 bps
    expect(demo.job).toMatchObject({ status: 'SUCCEEDED', distinctNodes: 2 });
    expect(demo.releasedState).toBe('ended');
    expect(demo.audit).toMatchObject({ consistent: true, settled: true });

    // Re-read what the network left on disk: the store and the chain.
    const store = await openStore({ kind: 'sqlite', path: join(netDir, 'cloud', 'idlegrid.sqlite') });
    const ledger = await openEmbeddedLedger({ dataDir: join(netDir, 'cloud', 'chain'), idempotency: storeIdempotency(store) });
    let buyer: Address;
    let escrowLeft: string;
    try {
      const lease = (await store.leases.get(demo.clusterId as LeaseId))!;
      buyer = lease.buyer;
      const nodes = await store.leases.nodes(lease.id);
      const records = await store.settlement.recordsOfLease(lease.id);
      expect(records.length).toBeGreaterThan(0);
      // Billed seconds per node: every whole second it was joined while the lease was ready, nothing for provisioning.
      for (const n of nodes.filter((x) => x.joinedAtMs !== null)) {
        const start = Math.max(n.joinedAtMs!, lease.readyAtMs!);
        const billed = records.filter((r) => r.nodeId === n.id).reduce((s, r) => s + r.seconds, 0);
        expect(billed).toBe(Math.floor((n.endedAtMs! - start) / 1000));
      }
      // Each record: seconds × price × slots, fee 2.5 %; each supplier got exactly the sum of its nets.
      const expectGross = (r: MeterRecord) => (BigInt(r.seconds) * BigInt(r.slots) * r.pricePerGpuHour) / 3600n;
      for (const r of records) expect([r.grossIo, r.feeIo]).toEqual([expectGross(r), (expectGross(r) * FEE_BPS) / 10_000n]);
      const payouts = new Map<Address, bigint>();
      for (const r of records) payouts.set(r.payout, (payouts.get(r.payout) ?? 0n) + r.grossIo - r.feeIo);
      expect(payouts.size).toBe(2);
      for (const [payout, net] of payouts) expect((await ledger.balances(payout)).io).toBe(net);
      // Burned = fee × 50 % per batch; the buyer got back reserved − charged, on chain.
      const batches = await Promise.all([...new Set(records.map((r) => r.batchId))].map(async (id) => (await store.settlement.batch(id))!));
      const burned = batches.reduce((s, b) => s + (b.feeIo * 5_000n) / 10_000n, 0n);
      const account = (await store.escrow.get(lease.id))!;
      const charged = records.reduce((s, r) => s + r.grossIo, 0n);
      expect(account.chargedIo).toBe(charged);
      expect(account.refundIo).toBe(account.reservedIo - charged);
      expect((await ledger.balances(buyer)).io).toBe(account.refundIo);
      expect(await store.wallets.balance(buyer)).toBe(49_000_000n - account.reservedIo);
      escrowLeft = formatDecimal(49_000_000n - account.reservedIo);
      const info = ledger.info();
      expect(await ledger.tokenAccountBalance(info.accounts.IO.escrow)).toBe(await store.wallets.balance(buyer));
      expect(await ledger.tokenAccountBalance(info.accounts.USDC.treasury)).toBe(50_000_000n);
      // IO supply = minted − burned, and the balances of every token account sum to it.
      const conservation = await ledger.conservation('IO');
      expect(conservation).toMatchObject({ ok: true, burned, minted: 49_000_000n, supply: 49_000_000n - burned });
      expect(conservation.accountsTotal).toBe(conservation.supply);
    } finally {
      await ledger.close();
      await store.close();
    }

    // Restart on the same data dir: balances, leases and history are all still there.
    const again = await startCliLines(['up', '--workers', '0', '--port', '0', '--data-dir', netDir, '--json'], env, 1);
    let code: number | null = null;
    try {
      // The demo's buyer keeps its wallet in <data dir>/buyer-home.
      const buyerEnv = { ...env, IDLEGRID_HOME: join(netDir, 'buyer-home'), IDLEGRID_CLOUD_URL: (again.lines[0] as { url: string }).url };
      const cli = async <T>(args: string[]): Promise<T> => {
        const res = await runCli(['--json', ...args], buyerEnv);
        expect(res.code, res.stderr).toBe(0);
        return JSON.parse(res.stdout) as T;
      };
      const wallet = await cli<WalletResponse>(['wallet', 'balance']);
      expect(wallet.wallet).toBe(buyer);
      expect(wallet.escrow.io).toBe(escrowLeft);
      const listed = await cli<{ clusters: ClusterView[] }>(['cloud', 'list']);
      expect(listed.clusters.map((c) => [c.id, c.state])).toEqual([[demo.clusterId, 'ended']]);
      const audit = await cli<AuditResponse>(['cloud', 'audit', demo.clusterId]);
      expect(audit).toMatchObject({ consistent: true, settled: true, money: demo.audit.money });
    } finally {
      again.child.kill('SIGTERM');
      code = await exited(again.child, 30_000);
    }
    expect(code).toBe(0);
  }, 420_000);
});
