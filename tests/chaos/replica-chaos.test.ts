import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { seededRandom, type Address, type DeviceId } from '@idlegrid/domain';
import { runCli } from '../e2e/cli-process.ts';
import { ChaosBuyer } from './buyer.ts';
import { checkApi, checkBooks, type BookOptions } from './invariants.ts';
import { freePort, HEARTBEAT_SECONDS, SETTLE_SECONDS, USAGE_SLACK_SECONDS } from './network.ts';
import { ReplicaChaosNetwork } from './replica-network.ts';

const ROUNDS = Number(process.env['IDLEGRID_CHAOS_REPLICA_ROUNDS'] ?? 6);
const AGENTS = 3;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Chaos with replicas: two `idlegrid cloud serve` replicas on one PostgreSQL and one chain, three
 * agents (real Ray) listing both, and a buyer booking clusters and running Ray jobs through one
 * replica. Each round SIGKILLs the leader replica, the follower, or an agent, restarts it, and
 * checks through the API that IO is conserved and every audit is consistent; at the end
 * everything is released, settled and checked from the database and the chain exactly as in
 * the single control plane's chaos (nothing paid twice, billing bounds, stakes, lease states).
 */
describe('chaos with replicas: SIGKILLs of the leader, the follower and agents', () => {
  it(`survives ${ROUNDS} rounds with every invariant holding`, async () => {
    const seed = Number(process.env['IDLEGRID_CHAOS_SEED'] ?? Date.now() % 100_000);
    const random = seededRandom(seed);
    console.log(JSON.stringify({ replica_chaos_seed: seed, rounds: ROUNDS }));
    const root = await mkdtemp(join(tmpdir(), 'idlegrid-replica-chaos-'));
    const net = new ReplicaChaosNetwork(root, [await freePort(), await freePort()], AGENTS);
    const agentKills: Array<{ deviceId: DeviceId; atMs: number }> = [];
    const stakers: Address[] = [];
    const books: BookOptions = {
      final: true, lossToleranceSeconds: HEARTBEAT_SECONDS + USAGE_SLACK_SECONDS + 1, usageSlackSeconds: USAGE_SLACK_SECONDS,
      heartbeatSeconds: HEARTBEAT_SECONDS, agentKills, stakers,
    };
    const started = Date.now();
    let buyer: ChaosBuyer | undefined;
    let workload: Promise<void> | undefined;
    let passed = false;
    try {
      await net.start();
      for (let i = 0; i < AGENTS; i++) await net.agents.start(i);
      const devices = (await net.waitForAgents(AGENTS, 1)).map((d) => d.id);
      // The buyer talks to the second replica (a follower at first); its calls are retried while that one is down.
      const buyerEnv = { ...process.env, IDLEGRID_HOME: join(root, 'buyer-home') };
      buyer = new ChaosBuyer(net.urls[1]!, buyerEnv, random);
      const authority = await net.authorityLedger();
      await buyer.fundOnChain(authority, net.chainUrl, 500_000_000n, 100_000_000n);
      await authority.close();
      for (const deviceId of devices.slice(0, 2)) {
        const staked = await runCli(['--json', '--cloud', net.urls[1]!, 'stake', 'add', '--amount', '50', '--device', deviceId], buyerEnv);
        expect(staked.code, staked.stderr).toBe(0);
      }
      stakers.push((await buyer.address()) as Address);
      workload = buyer.run();
      const b = buyer;

      for (let round = 1; round <= ROUNDS; round++) {
        await sleep(8_000 + Math.floor(random() * 12_000));
        const leader = await net.leader();
        const pick = random();
        const victim = pick < 0.4 ? `leader-${leader}` : pick < 0.6 ? `follower-${1 - leader}` : `agent-${1 + Math.floor(random() * AGENTS)}`;
        const t0 = Date.now();
        let failoverMs: number | null = null;
        if (victim.startsWith('leader') || victim.startsWith('follower')) {
          const i = Number(victim.split('-')[1]);
          await net.killReplica(i, 'SIGKILL');
          if (victim.startsWith('leader')) {
            await net.leader();
            failoverMs = Date.now() - t0;
          }
          await sleep(Math.floor(random() * 3_000));
          await net.startReplica(i);
        } else {
          await net.agents.killAndRestart(Number(victim.slice('agent-'.length)) - 1, random, agentKills);
        }
        await net.waitForAgents(AGENTS, 1);
        const recoveredMs = Date.now() - t0;
        const violations = await b.retry(() => checkApi(b.api, b.leases, 4 * SETTLE_SECONDS * 1000 + 5_000), 30_000);
        const entry = { round, victim, failoverMs, recoveredMs, leases: b.leases.length, violations: violations.length, ...b.stats };
        console.log(JSON.stringify({ replica_chaos_round: entry }));
        expect(violations, `round ${round} (${victim}), seed ${seed}`).toEqual([]);
      }

      await buyer.finishAndSettle();
      const apiViolations = await checkApi(buyer.api, buyer.leases, 10_000);
      await net.stopProcesses();
      const final = await net.withBooks((store, ledger) => checkBooks(store, ledger, books));
      expect([...apiViolations, ...final], `final books, seed ${seed}`).toEqual([]);
      expect(buyer.stats.booked).toBeGreaterThan(0);
      console.log(JSON.stringify({ replica_chaos_seed: seed, rounds: ROUNDS, seconds: Math.round((Date.now() - started) / 1000), ...buyer.stats }));
      passed = true;
    } finally {
      buyer?.stop();
      await net.stop();
      await workload?.catch(() => undefined);
      if (passed && !process.env['IDLEGRID_CHAOS_KEEP']) await rm(root, { recursive: true, force: true });
      else console.log(JSON.stringify({ replica_chaos_seed: seed, data: root }));
    }
  }, 900_000);
});
