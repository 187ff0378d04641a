import { IdlegridError } from '@idlegrid/domain';
import { loadOrCreateKeypair, type AuditResponse, type ClusterView, type WalletResponse } from '@idlegrid/protocol';
import { createJobsClient, pythonEntrypoint } from '@idlegrid/ray';
import { CloudClient } from '../cloud-client.ts';
import { depositToEscrow } from '../deposit.ts';
import { walletPath } from '../home.ts';
import { progress, type GlobalOptions } from '../output.ts';

/** A Ray program that runs tasks on every node of the cluster and prints which nodes it saw. */
const DEMO_JOB = `
import ray, time
ray.init()

@ray.remote(num_cpus=1)
def where(i):
    time.sleep(1)
    return ray.get_runtime_context().get_node_id()

nodes = ray.get([where.options(scheduling_strategy="SPREAD").remote(i) for i in range(6)])
print("tasks ran on", len(set(nodes)), "distinct Ray nodes")
print("NODES", ",".join(sorted(set(nodes))))
`;

export interface DemoResult {
  /** IO credited to the buyer's escrow by the demo's USDC deposit. */
  depositedIo: string;
  clusterId: string;
  deployToReadySeconds: number;
  job: { submissionId: string; status: string; distinctNodes: number; logs: string };
  releasedState: string;
  accruedUsd: string;
  /** The settlement audit once the cluster is settled (or the latest one when settling took too long). */
  audit: Pick<AuditResponse, 'consistent' | 'settled' | 'money'> & { transactions: number };
}

/**
 * The main job of a local network: book a 2-node cluster as a buyer, run a Ray job on it
 * through the authenticated proxy, and release it.
 */
export async function runDemo(cloudUrl: string, env: NodeJS.ProcessEnv, g: GlobalOptions): Promise<DemoResult> {
  const api = new CloudClient(cloudUrl, env);
  const bar = progress(g);
  const say = (text: string) => (g.json ? undefined : process.stderr.write(`${text}\n`));
  say('Demo: funding the buyer (embedded airdrop of SOL and USDC) and depositing 50 USDC into escrow…');
  await api.post<WalletResponse>('/v1/wallet/airdrop', { sol: '1', io: '0', usdc: '100' }, true);
  const { keypair } = await loadOrCreateKeypair(walletPath(env));
  const deposit = await depositToEscrow(api, keypair, 'USDC', 50_000_000n);
  say(`Demo: escrow holds ${deposit.escrow.io} IO.`);
  say('Demo: booking a 2-node cluster as a buyer…');
  const started = Date.now();
  let cluster = await api.post<ClusterView>('/v1/clusters', { gpu: 'cpu', count: 2, hours: 0.25, topology: 'spread', name: 'demo' }, true);
  while (cluster.state !== 'ready') {
    if (cluster.state === 'failed' || cluster.state === 'ended') {
      bar.done();
      throw new IdlegridError('CLUSTER_ENDED', { id: cluster.id, state: cluster.state });
    }
    if (Date.now() - started > 300_000) {
      bar.done();
      throw new IdlegridError('CLUSTER_NOT_READY', { id: cluster.id, state: `${cluster.state} after 300 s` });
    }
    const joined = cluster.nodes.filter((n) => n.state === 'joined').length;
    bar.update(`${cluster.id}: ${cluster.state} (${joined}/2 nodes joined)`);
    await new Promise((r) => setTimeout(r, 1000));
    cluster = await api.get<ClusterView>(`/v1/clusters/${cluster.id}`, {}, true);
  }
  const readySeconds = (Date.now() - started) / 1000;
  bar.done(`${cluster.id} ready in ${readySeconds.toFixed(1)} s`);

  say('Demo: submitting a Ray job through the proxy…');
  const ray = createJobsClient({ url: cluster.endpoints.ray, headers: { authorization: `Bearer ${await api.apiKey()}` }, timeoutMs: 60_000 });
  const { submission_id: submissionId } = await ray.submitJob({ entrypoint: pythonEntrypoint(DEMO_JOB) });
  let logs = '';
  for await (const chunk of ray.tailJobLogs(submissionId, { pollMs: 500 })) logs += chunk;
  const job = await ray.getJob(submissionId);
  say(logs.trimEnd());
  const nodesLine = logs.split('\n').find((l) => l.startsWith('NODES ')) ?? '';
  const distinctNodes = nodesLine ? nodesLine.slice(6).split(',').filter(Boolean).length : 0;

  say('Demo: releasing the cluster…');
  let released = await api.post<ClusterView>(`/v1/clusters/${cluster.id}/release`, {}, true);
  const releaseStarted = Date.now();
  while (released.state !== 'ended' && released.state !== 'failed' && Date.now() - releaseStarted < 120_000) {
    await new Promise((r) => setTimeout(r, 1000));
    released = await api.get<ClusterView>(`/v1/clusters/${cluster.id}`, {}, true);
  }
  say(`Demo: job ${job.status} on ${distinctNodes} node(s); cluster ${released.state}; billed $${released.accruedUsd}.`);
  say('Demo: waiting for settlement (payouts, fee burn, refund) and auditing it against the chain…');
  let audit = await api.get<AuditResponse>(`/v1/clusters/${cluster.id}/audit`, {}, true);
  const settleStarted = Date.now();
  while (!audit.settled && Date.now() - settleStarted < 180_000) {
    bar.update(`${cluster.id}: settling (${audit.batches.length} batch(es) so far)`);
    await new Promise((r) => setTimeout(r, 1000));
    audit = await api.get<AuditResponse>(`/v1/clusters/${cluster.id}/audit`, {}, true);
  }
  bar.done();
  say(`Demo: charged ${audit.money.chargedIo} IO, suppliers got ${audit.money.paidToSuppliersIo} IO, refund ${audit.money.refundIo ?? 'pending'} IO; audit consistent: ${audit.consistent}.`);
  return {
    depositedIo: deposit.deposit.ioCredited,
    clusterId: cluster.id,
    deployToReadySeconds: Math.round(readySeconds * 10) / 10,
    job: { submissionId, status: job.status, distinctNodes, logs },
    releasedState: released.state,
    accruedUsd: released.accruedUsd,
    audit: { consistent: audit.consistent, settled: audit.settled, money: audit.money, transactions: audit.transactions.length },
  };
}
