import type { Command } from 'commander';
import { parseGpuModel, TIERS } from '@idlegrid/domain';
import { SUPPLY_LIST_DEFAULT, SUPPLY_LIST_MAX, type QuoteResponse, type SupplyResponse } from '@idlegrid/protocol';
import { loadCloudConfig, startCloud } from '@idlegrid/cloud';
import { CloudClient } from '../cloud-client.ts';
import { resolveCloudUrl } from '../home.ts';
import { emit, table, type GlobalOptions } from '../output.ts';
import { addClusterCommands } from './clusters.ts';
import { addClusterRequestOptions, clusterRequestFromFlags, renderFeasible, renderInfeasible, type ClusterFlags } from './cluster-request.ts';
import { waitForSignal } from '../signals.ts';

interface ServeOptions {
  port?: string;
  host?: string;
  dataDir?: string;
  databaseUrl?: string;
  chain?: string;
  authority?: string;
  advertiseUrl?: string;
}

interface SearchOptions {
  gpu: string;
  count?: string;
  region?: string[];
  minTier?: string;
  maxPrice?: string;
  limit?: string;
}

export function addCloudCommands(program: Command, globals: () => GlobalOptions): Command {
  const cloud = program.command('cloud').description('Use the cloud as a buyer (search, …) or run a control plane (serve)');

  cloud
    .command('serve')
    .description(
      'Run a control plane (HTTP API + agent gateway) until interrupted. Several on one PostgreSQL (--database-url) are replicas: '
      + 'agents and buyers may use any of them; one leads (scheduler, settlement, epochs) and another takes over when it goes away. '
      + 'Replicas must share a chain: start each with the same --chain URL and --authority.',
    )
    .option('--port <port>', 'TCP port (0 picks a free one)', '8470')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--data-dir <dir>', 'directory for the embedded database and chain')
    .option('--database-url <url>', 'use PostgreSQL (postgres://…) instead of embedded SQLite; replicas share one')
    .option('--chain <chain>', 'settlement chain: embedded (LiteSVM in <data-dir>/chain; default) or a Solana RPC URL (http[s]://…)')
    .option('--authority <file>', 'with an RPC chain: the protocol authority keypair (solana-keygen JSON, funded with SOL)')
    .option('--advertise-url <url>', 'where the other replicas reach this one (default http://<host>:<port>)')
    .action(async (opts: ServeOptions) => {
      const config = loadCloudConfig(process.env, {
        ...(opts.port !== undefined ? { port: opts.port } : {}),
        ...(opts.host !== undefined ? { host: opts.host } : {}),
        ...(opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {}),
        ...(opts.databaseUrl !== undefined ? { databaseUrl: opts.databaseUrl } : {}),
        ...(opts.chain !== undefined ? { chain: opts.chain } : {}),
        ...(opts.authority !== undefined ? { authority: opts.authority } : {}),
        ...(opts.advertiseUrl !== undefined ? { advertiseUrl: opts.advertiseUrl } : {}),
      });
      const running = await startCloud(config);
      const replica = { id: running.cloud.replication.id, leader: running.cloud.replication.isLeader };
      emit(globals(), { ready: true, url: running.url, store: running.store.kind, chain: running.ledger.backend, replica }, () =>
        `Control plane on ${running.url} (store: ${running.store.kind}, chain: ${running.ledger.backend}, replica ${replica.id}). Ctrl-C to stop.`);
      await waitForSignal();
      await running.close();
    });

  cloud
    .command('search')
    .description('List GPU slots available now')
    .requiredOption('--gpu <model>', `GPU model (${['H100', 'A100', 'RTX4090', 'cpu'].join(', ')}, …)`)
    .option('--count <n>', 'how many slots you need (marks whether the supply is enough)')
    .option('--region <region...>', 'one or more regions')
    .option('--min-tier <tier>', `minimum supplier tier (${TIERS.join(' < ')})`)
    .option('--max-price <usd>', 'maximum USD per GPU-hour')
    .option('--limit <n>', `how many of the cheapest devices to list, 1 to ${SUPPLY_LIST_MAX} (totals always count every match)`, String(SUPPLY_LIST_DEFAULT))
    .action(async (opts: SearchOptions) => {
      const g = globals();
      const model = parseGpuModel(opts.gpu);
      const client = new CloudClient(await resolveCloudUrl(g.cloud, process.env), process.env);
      const supply = await client.get<SupplyResponse>('/v1/supply', {
        gpu: model,
        region: opts.region,
        minTier: opts.minTier,
        maxPrice: opts.maxPrice,
        limit: opts.limit,
      });
      const wanted = opts.count === undefined ? undefined : Number(opts.count);
      const enough = wanted === undefined ? undefined : supply.totals.freeSlots >= wanted;
      emit(g, { ...supply, ...(wanted !== undefined ? { requested: wanted, enough } : {}) }, () => renderSupply(supply, wanted));
    });
  addClusterRequestOptions(cloud.command('quote').description('Dry run of deploy: placement, estimated latency and price, or why it cannot fit and what could'))
    .action(async (flags: ClusterFlags) => {
      const g = globals();
      const client = new CloudClient(await resolveCloudUrl(g.cloud, process.env), process.env);
      const q = await client.post<QuoteResponse>('/v1/quotes', clusterRequestFromFlags(flags));
      emit(g, q, () => (q.feasible ? renderFeasible(q) : renderInfeasible(q)));
    });
  addClusterCommands(cloud, globals);
  return cloud;
}

function renderSupply(s: SupplyResponse, wanted: number | undefined): string {
  if (s.totals.devices === 0) return 'No matching GPU slots are online right now. Try another region, a higher --max-price or a lower --min-tier.';
  const rows = s.devices.map((d) => [
    d.id.slice(0, 8),
    d.gpuModel,
    `${d.freeSlots}/${d.slots}`,
    d.region,
    `$${d.pricePerGpuHour}`,
    d.tier,
    d.verified ? 'yes' : 'no',
    d.hardware.gpus[0]?.name ?? d.hardware.cpu.model,
  ]);
  const listed = s.devices.length < s.totals.devices ? ` (the ${s.devices.length} cheapest listed; --limit to see more)` : '';
  const footer = `${s.totals.devices} device(s)${listed}, ${s.totals.freeSlots} free slot(s)` +
    (wanted === undefined ? '' : s.totals.freeSlots >= wanted ? ` — enough for ${wanted}` : ` — not enough for ${wanted}`);
  return `${table(['DEVICE', 'GPU', 'FREE', 'REGION', 'USD/GPU-H', 'TIER', 'VERIFIED', 'HARDWARE'], rows)}\n${footer}`;
}
