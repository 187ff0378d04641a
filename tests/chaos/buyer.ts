import { requestSolAirdrop, type Ledger } from '@idlegrid/chain';
import { toAddress, type LeaseId } from '@idlegrid/domain';
import { loadOrCreateKeypair, type ClusterView, type WalletResponse } from '@idlegrid/protocol';
import { createJobsClient, pythonEntrypoint } from '@idlegrid/ray';
import { CloudClient } from '../../apps/cli/src/cloud-client.ts';
import { depositToEscrow } from '../../apps/cli/src/deposit.ts';
import { walletPath } from '../../apps/cli/src/home.ts';

/** A Ray job that keeps both nodes busy for a while and prints where its tasks ran. */
const JOB = `
import ray, time
ray.init()

@ray.remote(num_cpus=1)
def work(i):
    time.sleep(5)
    return ray.get_runtime_context().get_node_id()

print("NODES", len(set(ray.get([work.options(scheduling_strategy="SPREAD").remote(i) for i in range(8)]))))
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface BuyerStats {
  booked: number;
  released: number;
  jobsSubmitted: number;
  jobsSucceeded: number;
  /** Calls that failed because the control plane (or a cluster) was down at that moment. */
  retries: number;
}

/**
 * A buyer with escrow that keeps booking 2-node cpu clusters, runs a Ray job on each through the
 * authenticated proxy (as `idlegrid up --demo` does) and releases it after a random time, or lets
 * it run out. Every call is retried while the control plane is down.
 */
export class ChaosBuyer {
  readonly api: CloudClient;
  readonly leases: LeaseId[] = [];
  readonly stats: BuyerStats = { booked: 0, released: 0, jobsSubmitted: 0, jobsSucceeded: 0, retries: 0 };
  private stopping = false;

  constructor(
    url: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly random: () => number,
  ) {
    this.api = new CloudClient(url, env);
  }

  async address(): Promise<string> {
    return (await loadOrCreateKeypair(walletPath(this.env))).keypair.address;
  }

  /** Airdrop, a deposit of `io` IO into escrow, and `keep` IO left in the wallet (e.g. to stake). */
  async fund(io: bigint, keep: bigint): Promise<WalletResponse> {
    await this.api.post<WalletResponse>('/v1/wallet/airdrop', { sol: '1', io: String((io + keep) / 1_000_000n), usdc: '0' }, true);
    const { keypair } = await loadOrCreateKeypair(walletPath(this.env));
    await depositToEscrow(this.api, keypair, 'IO', io);
    return this.api.get<WalletResponse>('/v1/wallet', {}, true);
  }

  /** The same off the embedded chain (no airdrop there): SOL from the node's faucet, IO minted by the protocol authority. */
  async fundOnChain(authority: Ledger, chainUrl: string, io: bigint, keep: bigint): Promise<WalletResponse> {
    const { keypair } = await loadOrCreateKeypair(walletPath(this.env));
    await requestSolAirdrop(chainUrl, toAddress(keypair.address), 1_000_000_000n);
    await authority.mintTo({ id: `chaos-buyer-${keypair.address}`, memo: 'idlegrid:emit:chaos-buyer', mints: [{ to: keypair.address, amount: io + keep }], mint: 'IO' });
    await depositToEscrow(this.api, keypair, 'IO', io);
    return this.api.get<WalletResponse>('/v1/wallet', {}, true);
  }

  /** Retries a call until it succeeds (the control plane may be down or restarting), up to `ms`. */
  async retry<T>(fn: () => Promise<T>, ms = 90_000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      try {
        return await fn();
      } catch (e) {
        if (Date.now() > deadline) throw e;
        this.stats.retries++;
        await sleep(1000);
      }
    }
  }

  cluster(id: LeaseId): Promise<ClusterView> {
    return this.retry(() => this.api.get<ClusterView>(`/v1/clusters/${id}`, {}, true));
  }

  /** The workload: one cluster after another until stop() is called. */
  async run(): Promise<void> {
    while (!this.stopping) {
      let booked: ClusterView;
      try {
        booked = await this.api.post<ClusterView>('/v1/clusters', { gpu: 'cpu', count: 2, hours: 0.04, topology: 'spread', name: 'chaos' }, true);
      } catch {
        // Down, restarting, or not enough supply right now (an agent is being restarted).
        this.stats.retries++;
        await sleep(2000);
        continue;
      }
      this.leases.push(booked.id as LeaseId);
      this.stats.booked++;
      await this.use(booked.id as LeaseId);
    }
  }

  private async use(id: LeaseId): Promise<void> {
    const keepMs = 20_000 + Math.floor(this.random() * 60_000);
    const started = Date.now();
    let submitted = false;
    while (!this.stopping && Date.now() - started < keepMs) {
      const view = await this.api.get<ClusterView>(`/v1/clusters/${id}`, {}, true).catch(() => null);
      if (view && (view.state === 'ended' || view.state === 'failed')) return;
      if (view && view.state === 'ready' && !submitted) {
        submitted = await this.submit(view);
      }
      await sleep(2000);
    }
    if (!this.stopping) await this.release(id);
  }

  private async submit(view: ClusterView): Promise<boolean> {
    try {
      const ray = createJobsClient({ url: view.endpoints.ray, headers: { authorization: `Bearer ${await this.api.apiKey()}` }, timeoutMs: 30_000 });
      const { submission_id: submissionId } = await ray.submitJob({ entrypoint: pythonEntrypoint(JOB) });
      this.stats.jobsSubmitted++;
      void this.followJob(ray, submissionId);
      return true;
    } catch {
      this.stats.retries++;
      return false;
    }
  }

  private async followJob(ray: ReturnType<typeof createJobsClient>, id: string): Promise<void> {
    for (let i = 0; i < 60; i++) {
      await sleep(2000);
      try {
        const job = await ray.getJob(id);
        if (job.status === 'SUCCEEDED') this.stats.jobsSucceeded++;
        if (['SUCCEEDED', 'FAILED', 'STOPPED'].includes(job.status)) return;
      } catch {
        // the head or the control plane is down for a moment
      }
    }
  }

  async release(id: LeaseId): Promise<void> {
    await this.retry(() => this.api.post<ClusterView>(`/v1/clusters/${id}/release`, {}, true));
    this.stats.released++;
  }

  /** Stops booking (what is booked stays as it is). */
  stop(): void {
    this.stopping = true;
  }

  /** finish(), then waits (up to a minute each) until every cluster's audit says it is settled. */
  async finishAndSettle(): Promise<void> {
    await this.finish();
    for (const id of this.leases) {
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const audit = await this.retry(() => this.api.get<{ settled: boolean }>(`/v1/clusters/${id}/audit`, {}, true));
        if (audit.settled) break;
        await sleep(1000);
      }
    }
  }

  /** Stops booking; releases every cluster still active and waits until all are ended or failed. */
  async finish(timeoutMs = 120_000): Promise<ClusterView[]> {
    this.stopping = true;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const views = await Promise.all(this.leases.map((id) => this.cluster(id)));
      const open = views.filter((v) => v.state !== 'ended' && v.state !== 'failed');
      if (open.length === 0) return views;
      if (Date.now() > deadline) throw new Error(`clusters still open: ${open.map((v) => `${v.id} ${v.state}`).join(', ')}`);
      for (const v of open) if (v.state !== 'releasing') await this.release(v.id as LeaseId);
      await sleep(1000);
    }
  }
}
