import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { seededRandom, type Address, type DeviceId } from '@idlegrid/domain';
import type { ClusterView } from '@idlegrid/protocol';
import { runCli } from '../e2e/cli-process.ts';
import { ChaosBuyer } from './buyer.ts';
import { checkApi, checkBooks, withBooks, type BookOptions } from './invariants.ts';
import { ChaosNetwork, freePort, HEARTBEAT_SECONDS, SETTLE_SECONDS, USAGE_SLACK_SECONDS } from './network.ts';

const ROUNDS = Number(process.env['IDLEGRID_CHAOS_ROUNDS'] ?? 6);
const AGENTS = 3;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Mostly an agent serving a joined node of the running cluster (its loss is an abandonment: a slash and a replacement). */
async function pickAgent(net: ChaosNetwork, buyer: ChaosBuyer, random: () => number): Promise<number> {
  const last = buyer.leases.at(-1);
  const view = last ? await buyer.api.get<ClusterView>(`/v1/clusters/${last}`, {}, true).catch(() => null) : null;
  const serving = new Set(view && (view.state === 'ready' || view.state === 'degraded') ? view.nodes.filter((n) => n.state === 'joined').map((n) => n.deviceId) : []);
  const candidates: number[] = [];
  for (let i = 0; i < AGENTS; i++) if (serving.has(await net.agents.deviceOf(i))) candidates.push(i);
  const pick = random();
  return candidates.length > 0 && pick < 0.75 ? candidates[Math.floor((pick / 0.75) * candidates.length)]! : Math.floor(random() * AGENTS);
}

/**
 * Chaos: a control plane (`idlegrid cloud serve`) and 3 agents (`idlegrid worker start`, real Ray)
 * while a buyer books clusters and runs Ray jobs through the proxy. Each round waits a random time,
 * SIGKILLs the control plane (restarted on the same data dir) or an agent (restarted with the same
 * key), and checks the invariants: IO conservation, nothing paid twice, no billed second lost beyond
 * one heartbeat (+ the usage slack), every lease terminal with a reason or live, audits consistent.
 * The seed is printed; IDLEGRID_CHAOS_SEED=<seed> replays the same choices.
 */
describe('chaos: random SIGKILLs of the control plane and of agents', () => {
  it(`survives ${ROUNDS} rounds with every invariant holding`, async () => {
    const seed = Number(process.env['IDLEGRID_CHAOS_SEED'] ?? Date.now() % 100_000);
    const random = seededRandom(seed);
    console.log(JSON.stringify({ chaos_seed: seed, rounds: ROUNDS }));
    const root = await mkdtemp(join(tmpdir(), 'idlegrid-chaos-'));
    const net = new ChaosNetwork(root, await freePort(), AGENTS);
    const agentKills: Array<{ deviceId: DeviceId; atMs: number }> = [];
    const stakers: Address[] = [];
    const books: BookOptions = {
      final: false, lossToleranceSeconds: HEARTBEAT_SECONDS + USAGE_SLACK_SECONDS + 1, usageSlackSeconds: USAGE_SLACK_SECONDS,
      heartbeatSeconds: HEARTBEAT_SECONDS, agentKills, stakers,
    };
    const log: Array<Record<string, unknown>> = [];
    const started = Date.now();
    let buyer: ChaosBuyer | undefined;
    let workload: Promise<void> | undefined;
    let passed = false;
    try {
      await net.startCloud();
      for (let i = 0; i < AGENTS; i++) await net.agents.start(i);
      const devices = (await net.waitForAgents(AGENTS)).map((d) => d.id);
      const buyerEnv = { ...process.env, IDLEGRID_HOME: join(root, 'buyer-home') };
      buyer = new ChaosBuyer(net.url, buyerEnv, random);
      await buyer.fund(500_000_000n, 100_000_000n);
      // Two of the three devices are staked (by the buyer's wallet): losing them mid-lease slashes.
      for (const deviceId of devices.slice(0, 2)) {
        const staked = await runCli(['--json', '--cloud', net.url, 'stake', 'add', '--amount', '50', '--device', deviceId], buyerEnv);
        expect(staked.code, staked.stderr).toBe(0);
      }
      stakers.push((await buyer.address()) as Address);
      workload = buyer.run();
      const b = buyer;

      for (let round = 1; round <= ROUNDS; round++) {
        await sleep(8_000 + Math.floor(random() * 17_000));
        const victim = random() < 0.4 ? 'cloud' : `agent-${1 + (await pickAgent(net, b, random))}`;
        const violations: string[] = [];
        const t0 = Date.now();
        if (victim === 'cloud') {
          await net.killCloud('SIGKILL');
          // While it is down its files are at rest: read the store and the chain from disk.
          violations.push(...(await withBooks(net.cloudDir, (store, ledger) => checkBooks(store, ledger, books))));
          await net.startCloud();
        } else {
          await net.agents.killAndRestart(Number(victim.slice('agent-'.length)) - 1, random, agentKills);
        }
        await net.waitForAgents(AGENTS);
        const recoveredMs = Date.now() - t0;
        violations.push(...(await b.retry(() => checkApi(b.api, b.leases, 4 * SETTLE_SECONDS * 1000 + 5_000), 30_000)));
        const entry = { round, victim, recoveredMs, leases: b.leases.length, violations: violations.length, ...b.stats };
        log.push(entry);
        console.log(JSON.stringify({ chaos_round: entry }));
        expect(violations, `round ${round} (${victim}), seed ${seed}`).toEqual([]);
      }

      // The end: release everything, let settlement finish, stop, and check the books exactly.
      await buyer.finishAndSettle();
      const apiViolations = await checkApi(buyer.api, buyer.leases, 10_000);
      await net.stop();
      const final = await withBooks(net.cloudDir, (store, ledger) => checkBooks(store, ledger, { ...books, final: true }));
      expect([...apiViolations, ...final], `final books, seed ${seed}`).toEqual([]);
      expect(buyer.stats.booked).toBeGreaterThan(0);
      console.log(JSON.stringify({ chaos_seed: seed, rounds: ROUNDS, seconds: Math.round((Date.now() - started) / 1000), ...buyer.stats }));
      passed = true;
    } finally {
      buyer?.stop();
      await net.stop();
      await workload?.catch(() => undefined);
      if (passed && !process.env['IDLEGRID_CHAOS_KEEP']) await rm(root, { recursive: true, force: true });
      else console.log(JSON.stringify({ chaos_seed: seed, data: root }));
    }
  }, 900_000);
});
