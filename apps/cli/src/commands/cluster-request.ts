import type { Command } from 'commander';
import { IdlegridError, TIERS } from '@idlegrid/domain';
import type { ClusterRequestInput, FeasibleQuote, InfeasibleQuote } from '@idlegrid/protocol';
import { table } from '../output.ts';

export interface ClusterFlags {
  gpu: string;
  count: string;
  hours: string;
  region?: string[];
  minTier?: string;
  maxPrice?: string;
  topology: string;
  pay: string;
  name?: string;
  verifiedOnly?: boolean;
}

/** The flags `cloud quote` and `cloud deploy` share. */
export function addClusterRequestOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--gpu <model>', 'GPU model (H100, A100, RTX4090, cpu, …)')
    .requiredOption('--count <n>', 'GPU slots in the cluster')
    .requiredOption('--hours <h>', 'duration in hours (fractions allowed, e.g. 0.25)')
    .option('--region <region...>', 'allowed regions (default: anywhere)')
    .option('--min-tier <tier>', `minimum supplier tier (${TIERS.join(' < ')})`)
    .option('--max-price <usd>', 'highest USD per GPU-hour you accept')
    .option('--topology <t>', 'tight: lowest latency (training) | spread: lowest price (batch)', 'tight')
    .option('--pay <token>', 'IO or USDC: what you funded escrow with (escrow is held and settled in IO; USDC deposits are converted when credited)', 'IO')
    .option('--name <name>', 'a name for the cluster (lowercase, digits, dashes)')
    .option('--verified-only', 'only devices that passed proof-of-GPU verification');
}

function numberFlag(name: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) {
    throw new IdlegridError('VALIDATION_FAILED', { where: `--${name}`, issues: [{ path: name, message: `expected a number, got ${value}` }] });
  }
  return n;
}

export function clusterRequestFromFlags(f: ClusterFlags): ClusterRequestInput {
  return {
    gpu: f.gpu,
    count: numberFlag('count', f.count),
    hours: numberFlag('hours', f.hours),
    ...(f.region ? { regions: f.region } : {}),
    ...(f.minTier ? { minTier: f.minTier as ClusterRequestInput['minTier'] } : {}),
    ...(f.maxPrice ? { maxPrice: f.maxPrice } : {}),
    topology: f.topology as ClusterRequestInput['topology'],
    pay: f.pay.toUpperCase() as ClusterRequestInput['pay'],
    ...(f.name ? { name: f.name } : {}),
    ...(f.verifiedOnly ? { verifiedOnly: true } : {}),
  };
}

export function renderFeasible(q: FeasibleQuote): string {
  const rows = q.devices.map((d) => [d.deviceId.slice(0, 8), d.slots, d.region, d.tier, `$${d.pricePerGpuHour}`]);
  return [
    table(['DEVICE', 'SLOTS', 'REGION', 'TIER', 'USD/GPU-H'], rows),
    `${q.slots} × ${q.gpuModel} on ${q.devices.length} device(s) in ${q.regions.join(', ')}; estimated RTT max ${q.estimatedRttMs.max} ms, mean ${q.estimatedRttMs.mean} ms`,
    `$${q.pricePerHour}/hour, $${q.total} for ${q.request.hours} h (${q.request.topology})`,
  ].join('\n');
}

export function renderInfeasible(q: InfeasibleQuote): string {
  const stages = q.stages.map((s) => `${s.stage}: ${s.remaining} slot(s) on ${s.devices} device(s)`).join(' → ');
  const alts = q.alternatives.length === 0
    ? 'No nearby alternative fits right now.'
    : q.alternatives.map((a, i) => `  ${i + 1}. ${a.summary}: $${a.pricePerHour}/hour, $${a.total} total, RTT ≤ ${a.estimatedMaxRttMs} ms\n     ${commandFor(a.request)}`).join('\n');
  return `Cannot place this cluster: ${q.reason}\nAfter each filter: ${stages}\nAlternatives:\n${alts}`;
}

function commandFor(r: ClusterRequestInput): string {
  const parts = ['idlegrid cloud deploy', `--gpu ${r.gpu}`, `--count ${r.count}`, `--hours ${r.hours}`];
  if (r.regions?.length) parts.push(`--region ${r.regions.join(' ')}`);
  if (r.minTier) parts.push(`--min-tier ${r.minTier}`);
  if (r.maxPrice) parts.push(`--max-price ${r.maxPrice}`);
  if (r.topology && r.topology !== 'tight') parts.push(`--topology ${r.topology}`);
  if (r.verifiedOnly) parts.push('--verified-only');
  return parts.join(' ');
}
