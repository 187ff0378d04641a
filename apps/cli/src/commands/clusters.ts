import type { Command } from 'commander';
import { IdlegridError } from '@idlegrid/domain';
import type { AuditResponse, ClusterView } from '@idlegrid/protocol';
import { createJobsClient, shellCommand, type RayJobsClient } from '@idlegrid/ray';
import { CloudClient } from '../cloud-client.ts';
import { resolveCloudUrl } from '../home.ts';
import { emit, progress, table, type GlobalOptions } from '../output.ts';
import { addClusterRequestOptions, clusterRequestFromFlags, type ClusterFlags } from './cluster-request.ts';

const TERMINAL = new Set(['ended', 'failed']);

async function client(g: GlobalOptions): Promise<CloudClient> {
  return new CloudClient(await resolveCloudUrl(g.cloud, process.env), process.env);
}

export function addClusterCommands(cloud: Command, globals: () => GlobalOptions): void {
  addClusterRequestOptions(cloud.command('deploy').description('Book a Ray cluster; with --wait, follow it until it is ready'))
    .option('--wait', 'wait until the cluster is ready (progress on a terminal)')
    .option('--timeout <s>', 'seconds to wait with --wait', '600')
    .action(async (flags: ClusterFlags & { wait?: boolean; timeout: string }) => {
      const g = globals();
      const api = await client(g);
      let cluster = await api.post<ClusterView>('/v1/clusters', clusterRequestFromFlags(flags), true);
      if (flags.wait) cluster = await waitFor(api, cluster.id, (c) => c.state === 'ready' || TERMINAL.has(c.state), Number(flags.timeout), g);
      if (flags.wait && cluster.state !== 'ready') {
        throw new IdlegridError('CLUSTER_ENDED', { id: cluster.id, state: `${cluster.state}${cluster.failureReason ? ` (${cluster.failureReason})` : ''}` });
      }
      emit(g, cluster, () => renderCluster(cluster, api.baseUrl));
    });

  cloud
    .command('list')
    .description('Your clusters, newest first')
    .option('--state <state>', 'only this state, or "active"')
    .action(async (opts: { state?: string }) => {
      const g = globals();
      const { clusters } = await (await client(g)).get<{ clusters: ClusterView[] }>('/v1/clusters', { state: opts.state }, true);
      emit(g, { clusters }, () =>
        clusters.length === 0
          ? 'No clusters yet. Book one with `idlegrid cloud deploy --gpu cpu --count 2 --hours 1 --wait`.'
          : table(['ID', 'NAME', 'STATE', 'GPUS', 'USD/H', 'ACCRUED', 'EXPIRES'], clusters.map((c) => [
            c.id, c.name ?? '-', c.state, `${c.slots}×${c.gpuModel}`, c.pricePerHour, c.accruedUsd, new Date(c.expiresAt).toISOString(),
          ])),
      );
    });

  cloud
    .command('status')
    .description('One cluster: state, nodes, endpoints, cost so far, notices')
    .argument('<id>', 'cluster id (lse_…)')
    .action(async (id: string) => {
      const g = globals();
      const api = await client(g);
      const cluster = await api.get<ClusterView>(`/v1/clusters/${encodeURIComponent(id)}`, {}, true);
      emit(g, cluster, () => renderCluster(cluster, api.baseUrl));
    });

  cloud
    .command('extend')
    .description('Add hours to a running cluster')
    .argument('<id>', 'cluster id')
    .requiredOption('--hours <h>', 'hours to add')
    .action(async (id: string, opts: { hours: string }) => {
      const g = globals();
      const cluster = await (await client(g)).post<ClusterView>(`/v1/clusters/${encodeURIComponent(id)}/extend`, { hours: Number(opts.hours) }, true);
      emit(g, cluster, () => `Cluster ${cluster.id} now runs until ${new Date(cluster.expiresAt).toISOString()}.`);
    });

  cloud
    .command('release')
    .description('Stop a cluster now: Ray is stopped on every node and unused time is not billed')
    .argument('<id>', 'cluster id')
    .option('--wait', 'wait until every node has stopped')
    .action(async (id: string, opts: { wait?: boolean }) => {
      const g = globals();
      const api = await client(g);
      let cluster = await api.post<ClusterView>(`/v1/clusters/${encodeURIComponent(id)}/release`, {}, true);
      if (opts.wait) cluster = await waitFor(api, cluster.id, (c) => TERMINAL.has(c.state), 120, g);
      emit(g, cluster, () => `Cluster ${cluster.id} is ${cluster.state}; billed $${cluster.accruedUsd}.`);
    });

  cloud
    .command('audit')
    .description("Settlement audit of a cluster: billed seconds per node, payouts, fee, burn, refund and every transaction, re-checked against the chain (exit 1 when inconsistent)")
    .argument('<id>', 'cluster id')
    .option('--wait-settled <seconds>', 'wait up to this long until the cluster is fully settled (ended, paid, refunded)')
    .action(async (id: string, opts: { waitSettled?: string }) => {
      const g = globals();
      const api = await client(g);
      const path = `/v1/clusters/${encodeURIComponent(id)}/audit`;
      let report = await api.get<AuditResponse>(path, {}, true);
      if (opts.waitSettled !== undefined) {
        const bar = progress(g);
        const deadline = Date.now() + Number(opts.waitSettled) * 1000;
        while (!report.settled && Date.now() < deadline) {
          bar.update(`${id}: ${report.state}, ${report.batches.length} batch(es), waiting for settlement`);
          await new Promise((r) => setTimeout(r, 1000));
          report = await api.get<AuditResponse>(path, {}, true);
        }
        bar.done();
      }
      emit(g, report, () => renderAudit(report));
      if (!report.consistent) process.exitCode = 1;
    });

  addJobCommands(cloud, globals);
}

function renderAudit(a: AuditResponse): string {
  const devices = table(['DEVICE', 'PAYOUT', 'BILLED S', 'GROSS IO', 'FEE IO', 'PAID IO'], a.devices.map((d) => [
    d.deviceId.slice(0, 8), d.payout?.slice(0, 8) ?? '-', d.billedSeconds, d.grossIo, d.feeIo, d.paidIo,
  ]));
  const txs = table(['KIND', 'SIGNATURE', 'OK'], a.transactions.map((t) => [t.kind, t.signature, t.ok ? 'yes' : 'NO']));
  const failed = a.checks.filter((c) => !c.ok).map((c) => `  FAILED ${c.name}${c.detail ? `: ${c.detail}` : ''}`);
  return [
    `Cluster ${a.lease} (${a.state}) on the ${a.network} chain`,
    devices,
    `Reserved ${a.money.reservedIo} IO, charged ${a.money.chargedIo} IO (fee ${a.money.feeIo}, suppliers ${a.money.paidToSuppliersIo}), refund ${a.money.refundIo ?? 'pending'} IO`,
    `Batches: ${a.batches.map((b) => `${b.id} (${b.state}, burn ${b.burnIo}, treasury ${b.treasuryIo})`).join('; ') || 'none yet'}`,
    txs,
    `${a.checks.length} checks, ${a.records.length} meter record(s) proven against their batch roots`,
    ...failed,
    `settled: ${a.settled}`,
    `consistent: ${a.consistent}`,
  ].join('\n');
}

function addJobCommands(cloud: Command, globals: () => GlobalOptions): void {
  const jobs = cloud.command('jobs').description("Ray jobs on a cluster, through the cloud's authenticated proxy");
  const jobsClient = async (g: GlobalOptions, id: string): Promise<RayJobsClient> => {
    const api = await client(g);
    const cluster = await api.get<ClusterView>(`/v1/clusters/${encodeURIComponent(id)}`, {}, true);
    return createJobsClient({ url: cluster.endpoints.ray, headers: { authorization: `Bearer ${await api.apiKey()}` }, timeoutMs: 60_000 });
  };

  jobs
    .command('submit')
    .description('Submit a Ray job and follow its logs until it ends (like `ray job submit`)')
    .argument('<id>', 'cluster id')
    .argument('<entrypoint...>', 'the command, after --, e.g. -- python -c "import ray; ray.init()"')
    .option('--gpus <n>', 'GPUs reserved for the entrypoint process')
    .option('--no-wait', 'return right after submitting')
    .action(async (id: string, entrypoint: string[], opts: { gpus?: string; wait: boolean }) => {
      const g = globals();
      const ray = await jobsClient(g, id);
      const { submission_id: submissionId } = await ray.submitJob({
        entrypoint: shellCommand(entrypoint),
        ...(opts.gpus ? { entrypointNumGpus: Number(opts.gpus) } : {}),
      });
      if (!opts.wait) return emit(g, { submissionId, status: 'PENDING' }, () => `Submitted ${submissionId}`);
      if (!g.json) process.stderr.write(`Submitted ${submissionId}; following its logs…\n`);
      let logs = '';
      for await (const chunk of ray.tailJobLogs(submissionId, { pollMs: 500 })) {
        logs += chunk;
        if (!g.json) process.stdout.write(chunk);
      }
      const job = await ray.getJob(submissionId);
      emit(g, { submissionId, status: job.status, message: job.message ?? null, logs }, () => `Job ${submissionId} ${job.status}`);
      if (job.status !== 'SUCCEEDED') process.exitCode = 1;
    });

  jobs
    .command('list')
    .description('Jobs of a cluster')
    .argument('<id>', 'cluster id')
    .action(async (id: string) => {
      const g = globals();
      const list = await (await jobsClient(g, id)).listJobs();
      emit(g, { jobs: list }, () => table(['SUBMISSION', 'STATUS', 'ENTRYPOINT'], list.map((j) => [j.submission_id ?? j.job_id ?? '-', j.status, j.entrypoint.slice(0, 60)])));
    });

  jobs
    .command('logs')
    .description("A job's logs; --follow streams them until the job ends")
    .argument('<id>', 'cluster id')
    .argument('<job>', 'submission id')
    .option('--follow', 'keep streaming until the job ends')
    .action(async (id: string, job: string, opts: { follow?: boolean }) => {
      const g = globals();
      const ray = await jobsClient(g, id);
      if (!opts.follow) {
        const logs = await ray.getJobLogs(job);
        return emit(g, { submissionId: job, logs }, () => logs.trimEnd());
      }
      let logs = '';
      for await (const chunk of ray.tailJobLogs(job, { pollMs: 500 })) {
        logs += chunk;
        if (!g.json) process.stdout.write(chunk);
      }
      if (g.json) emit(g, { submissionId: job, logs }, () => '');
    });

  jobs
    .command('stop')
    .description('Stop a running job')
    .argument('<id>', 'cluster id')
    .argument('<job>', 'submission id')
    .action(async (id: string, job: string) => {
      const g = globals();
      const stopped = await (await jobsClient(g, id)).stopJob(job);
      emit(g, { submissionId: job, stopped }, () => (stopped ? `Stopping ${job}` : `${job} was not running`));
    });
}

async function waitFor(api: CloudClient, id: string, done: (c: ClusterView) => boolean, timeoutSeconds: number, g: GlobalOptions): Promise<ClusterView> {
  const bar = progress(g);
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    const c = await api.get<ClusterView>(`/v1/clusters/${encodeURIComponent(id)}`, {}, true);
    const joined = c.nodes.filter((n) => n.state === 'joined').length;
    const active = c.nodes.filter((n) => ['assigned', 'starting', 'joined'].includes(n.state)).length;
    bar.update(`${c.id}: ${c.state} — ${joined}/${active} node(s) joined`);
    if (done(c)) {
      bar.done(`${c.id}: ${c.state}`);
      return c;
    }
    if (Date.now() > deadline) {
      bar.done();
      throw new IdlegridError('CLUSTER_NOT_READY', { id, state: `${c.state} after ${timeoutSeconds} s` });
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function renderCluster(c: ClusterView, cloudUrl: string): string {
  const nodes = table(['DEVICE', 'ROLE', 'SLOTS', 'STATE', 'IP', 'USD/GPU-H', 'BILLED S'], c.nodes.map((n) => [
    n.deviceId.slice(0, 8), n.role, n.slots, n.state, n.nodeIp ?? '-', n.pricePerGpuHour, n.billedSeconds,
  ]));
  const lines = [
    `Cluster ${c.id}${c.name ? ` (${c.name})` : ''}: ${c.state}, ${c.slots} × ${c.gpuModel}, $${c.pricePerHour}/hour, accrued $${c.accruedUsd}`,
    `Expires ${new Date(c.expiresAt).toISOString()}`,
    nodes,
    '',
    'Submit Ray jobs with the tools you know:',
    `  idlegrid cloud jobs submit ${c.id} -- python my_script.py`,
    `  ray job submit --address ${c.endpoints.ray} --headers '{"Authorization":"Bearer <your API key>"}' -- python my_script.py`,
    `Ray Serve ingress: ${c.endpoints.serve} (API key required). Cloud: ${cloudUrl}`,
  ];
  for (const n of c.notices) lines.push(`Notice ${new Date(n.atMs).toISOString()}: ${n.text}`);
  return lines.join('\n');
}
