import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { openRpcLedger, type Ledger } from '@idlegrid/chain';
import { readKeypairFile, type DeviceView } from '@idlegrid/protocol';
import { openStore, type Store } from '@idlegrid/store';
import { startReplicaBackends, type ReplicaBackends } from '../../apps/cloud/src/testing/replica-backends.ts';
import { storeIdempotency } from '../../apps/cloud/src/settlement/store-idempotency.ts';
import {
  ChaosAgents, EPOCH_SECONDS, HEARTBEAT_SECONDS, kill, launch, SETTLE_SECONDS, USAGE_SLACK_SECONDS, waitForVerifiedDevices, type Proc,
} from './network.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The chaos network with replicas: two `idlegrid cloud serve` processes on one PostgreSQL and one
 * chain (LiteSVM JSON-RPC in this process, like `idlegrid chain node`), and N agents that list
 * both replicas. Either replica (the leader or the follower) and any agent can be SIGKILLed and
 * started again on the same port, data dir or key.
 */
export class ReplicaChaosNetwork {
  readonly urls: string[];
  /** Each agent lists every replica, starting with a different one per agent. */
  readonly agents: ChaosAgents;
  private readonly replicas: Array<Proc | null>;
  private shared: ReplicaBackends | null = null;

  constructor(
    readonly root: string,
    readonly ports: readonly number[],
    readonly agentCount: number,
  ) {
    this.urls = ports.map((p) => `http://127.0.0.1:${p}`);
    this.replicas = ports.map(() => null);
    this.agents = new ChaosAgents(root, agentCount, (i) => this.urls.map((_, k) => this.urls[(k + i) % this.urls.length]).join(','), 26_000);
  }

  private get backends(): ReplicaBackends {
    if (!this.shared) throw new Error('not started');
    return this.shared;
  }

  get chainUrl(): string {
    return this.backends.chainUrl;
  }

  /** PostgreSQL, the chain with a funded authority, and every replica. */
  async start(): Promise<void> {
    this.shared = await startReplicaBackends();
    for (let i = 0; i < this.ports.length; i++) await this.startReplica(i);
  }

  /** Starts (or restarts) replica i on its port and data dir; resolves when it answers. */
  async startReplica(i: number): Promise<void> {
    const dir = join(this.root, `replica-${i}`);
    await mkdir(dir, { recursive: true });
    const env = {
      ...process.env, LOG_LEVEL: process.env['IDLEGRID_CHAOS_LOG_LEVEL'] ?? 'info',
      IDLEGRID_SETTLE_SECONDS: String(SETTLE_SECONDS), IDLEGRID_EPOCH_SECONDS: String(EPOCH_SECONDS),
      IDLEGRID_HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS), IDLEGRID_USAGE_SLACK_SECONDS: String(USAGE_SLACK_SECONDS), IDLEGRID_NODE_LOSS_SECONDS: '10',
    };
    const { databaseUrl, chainUrl, authorityFile } = this.backends;
    const p = launch(['cloud', 'serve', '--json', '--port', String(this.ports[i]), '--data-dir', dir, '--database-url', databaseUrl,
      '--chain', chainUrl, '--authority', authorityFile], env, join(this.root, `replica-${i}.log`));
    this.replicas[i] = p;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (p.child.exitCode !== null) throw new Error(`replica ${i} exited with ${p.child.exitCode}; see ${join(this.root, `replica-${i}.log`)}`);
      if (await this.health(i)) return;
      if (Date.now() > deadline) throw new Error(`replica ${i} did not answer within 60 s`);
      await sleep(200);
    }
  }

  async health(i: number): Promise<{ id: string; leader: boolean } | null> {
    try {
      const res = await fetch(`${this.urls[i]}/healthz`, { signal: AbortSignal.timeout(2_000) });
      return res.ok ? ((await res.json()) as { replica: { id: string; leader: boolean } }).replica : null;
    } catch {
      return null;
    }
  }

  /** The index of the replica that leads now (waits for one). */
  async leader(timeoutMs = 30_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = 0; i < this.ports.length; i++) if (this.replicas[i] && (await this.health(i))?.leader) return i;
      if (Date.now() > deadline) throw new Error(`no replica led within ${timeoutMs / 1000} s`);
      await sleep(100);
    }
  }

  async killReplica(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.replicas[i];
    if (p) await kill(p, signal);
    this.replicas[i] = null;
  }

  /** Waits until `count` devices are online and verified, as the replica at index `via` sees them. */
  waitForAgents(count: number, via: number, timeoutMs = 120_000): Promise<DeviceView[]> {
    return waitForVerifiedDevices(this.urls[via] ?? '', count, this.root, timeoutMs);
  }

  /** The chain as its protocol authority (to mint test IO to a buyer: there is no airdrop off the embedded chain). */
  async authorityLedger(): Promise<Ledger> {
    return openRpcLedger({ url: this.chainUrl, authority: await readKeypairFile(this.backends.authorityFile) });
  }

  /** The shared database and the chain, for the final books. */
  async withBooks<T>(fn: (store: Store, ledger: Ledger) => Promise<T>): Promise<T> {
    const store = await openStore({ kind: 'postgres', url: this.backends.databaseUrl });
    const ledger = await openRpcLedger({ url: this.chainUrl, authority: await readKeypairFile(this.backends.authorityFile), idempotency: storeIdempotency(store) });
    try {
      return await fn(store, ledger);
    } finally {
      await ledger.close();
      await store.close();
    }
  }

  /** Stops the agents and the replicas gracefully (agents stop their Ray nodes on SIGTERM); the chain and database stay. */
  async stopProcesses(): Promise<void> {
    await this.agents.stopAll();
    for (let i = 0; i < this.replicas.length; i++) await this.killReplica(i, 'SIGTERM');
  }

  async stop(): Promise<void> {
    await this.stopProcesses();
    await this.shared?.stop();
    this.shared = null;
  }
}
