import { join } from 'node:path';
import { parseDecimal } from '@idlegrid/domain';
import type { EmissionsResponse, EpochsResponse, EstimateResponse, ExplorerPayoutsResponse, ParamsResponse, TokenResponse } from '@idlegrid/protocol';
import { exited, runCli, startCliLines } from '../../tests/e2e/cli-process.ts';

export interface ScenarioOptions {
  json: boolean;
  /** Closed epochs to observe once the devices are staked. */
  epochs: number;
  epochSeconds: number;
  /** Keep the data directory even on success. */
  keep: boolean;
}

export function scenarioOptions(argv: readonly string[]): ScenarioOptions {
  const int = (flag: string, fallback: number, min: number): number => {
    const i = argv.indexOf(flag);
    if (i < 0) return fallback;
    const v = Number(argv[i + 1]);
    if (!Number.isInteger(v) || v < min) throw new Error(`${flag} expects an integer ≥ ${min}`);
    return v;
  };
  return { json: argv.includes('--json'), epochs: int('--epochs', 4, 2), epochSeconds: int('--epoch-seconds', 20, 5), keep: argv.includes('--keep') };
}

type Role = 'busy' | 'idle' | 'unstaked';

export interface ScenarioReport {
  network: { url: string; workers: number; epoch_seconds: number; settle_seconds: number };
  devices: Array<{ role: Role; device: string }>;
  cluster: string;
  epochs: Array<{
    idx: number;
    state: string;
    utilization_bps: number;
    served_gpu_seconds: number;
    available_gpu_seconds: number;
    emission_io: string;
    stipend_pool_io: string;
    usage_pool_io: string;
    treasury_io: string;
    protocol_fee_bps: string | null;
    mint_signatures: number;
    devices: Array<{ role: Role | 'other'; device: string; stipend_io: string; bonus_io: string; tier: string; uptime_seconds: number; served_gpu_seconds: number; ineligible: string[] }>;
  }>;
  governance: {
    proposal: string;
    param: string;
    from: string;
    to: string;
    in_force: string | null;
    applied_epoch: number | null;
    batches_after: number;
    measured_fee_bps_after: number | null;
    new_fee_charged: boolean;
  };
  governance_applied: boolean;
  /** `idlegrid worker estimate --gpu H100 --power-cost 0.12` on the live network. */
  estimate: EstimateResponse;
  token: TokenResponse;
  conservation: boolean;
  seconds: number;
}

const SETTLE_SECONDS = 5;
const PROPOSED_FEE_BPS = 500;

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function cli<T>(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<T> {
  const r = await runCli([...args, '--json'], env, timeoutMs);
  if (r.code !== 0) throw new Error(`idlegrid ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as T;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runScenario(root: string, o: ScenarioOptions, log: (line: string) => void): Promise<ScenarioReport> {
  const started = Date.now();
  const base: NodeJS.ProcessEnv = {
    ...process.env, LOG_LEVEL: 'warn', IDLEGRID_HOME: join(root, 'operator'),
    // Governance on a quick local network: 10 s of voting, no timelock beyond the next epoch boundary.
    IDLEGRID_GOV_VOTING_SECONDS: '10', IDLEGRID_GOV_TIMELOCK_SECONDS: '0',
  };
  log('starting a local network: control plane, embedded chain, 3 agents…');
  const up = await startCliLines(
    ['up', '--workers', '3', '--port', '0', '--data-dir', join(root, 'net'), '--epoch-seconds', String(o.epochSeconds), '--settle-seconds', String(SETTLE_SECONDS), '--json'],
    base, 1, 180_000,
  );
  try {
    const url = (up.lines[0] as { url: string }).url;
    const as = (who: string): NodeJS.ProcessEnv => ({ ...base, IDLEGRID_HOME: join(root, who), IDLEGRID_CLOUD_URL: url });
    const buyer = as('buyer');
    const supplier = as('supplier');

    log('buyer: wallet, airdrop, deposit 50 IO, deploy a 1-node cpu cluster…');
    await cli(['wallet', 'new'], buyer);
    await cli(['wallet', 'airdrop', '--io', '100'], buyer);
    await cli(['wallet', 'deposit', '--amount', '50', '--token', 'IO'], buyer);
    const cluster = await cli<{ id: string; nodes: Array<{ deviceId: string }> }>(['cloud', 'deploy', '--gpu', 'cpu', '--count', '1', '--hours', '1', '--wait'], buyer, 300_000);
    const busy = cluster.nodes[0]?.deviceId;
    if (busy === undefined) throw new Error('the cluster has no node');
    const all = (await getJson<{ devices: Array<{ id: string }> }>(`${url}/v1/devices?status=online`)).devices.map((d) => d.id);
    const [idle, unstaked] = all.filter((d) => d !== busy).sort();
    if (idle === undefined || unstaked === undefined) throw new Error(`expected 3 online devices, got ${all.length}`);
    const roles = new Map<string, Role>([[busy, 'busy'], [idle, 'idle'], [unstaked, 'unstaked']]);

    log('supplier: wallet, airdrop, stake the busy and the idle device…');
    await cli(['wallet', 'new'], supplier);
    await cli(['wallet', 'airdrop', '--io', '1000'], supplier);
    for (const device of [busy, idle]) await cli(['stake', 'add', '--amount', '100', '--device', device], supplier);
    const firstStakedEpoch = (await getJson<EpochsResponse>(`${url}/v1/explorer/epochs?limit=1`)).epochs[0]?.idx ?? 0;

    log(`supplier: propose protocol_fee_bps → ${PROPOSED_FEE_BPS} and vote yes…`);
    const { proposal } = await cli<{ proposal: { id: string } }>(['gov', 'propose', '--param', 'protocol_fee_bps', '--value', String(PROPOSED_FEE_BPS), '--why', 'economics scenario'], supplier);
    await cli(['gov', 'vote', proposal.id, 'yes'], supplier);

    const wantClosed = firstStakedEpoch + o.epochs;
    const deadline = Date.now() + (o.epochs + 6) * o.epochSeconds * 1000 + 120_000;
    let governance = await governanceState(url);
    for (;;) {
      const newest = (await getJson<EpochsResponse>(`${url}/v1/explorer/epochs?limit=1`)).epochs[0];
      governance = await governanceState(url);
      log(`epoch ${newest?.idx ?? '?'} open; fee in force ${governance.inForce ?? '?'} bps; ${governance.batchesAfter} batches since`);
      if ((newest?.idx ?? 0) > wantClosed && governance.batchesAfter > 0) break;
      if (Date.now() > deadline) throw new Error('the network did not reach the wanted epochs in time');
      await sleep(2_000);
    }

    log('supplier: what would an H100 earn on this network? (worker estimate)');
    const estimate = await cli<EstimateResponse>(['worker', 'estimate', '--gpu', 'H100', '--power-cost', '0.12'], supplier);

    log('buyer: release the cluster and wait until it is settled…');
    await cli(['cloud', 'release', cluster.id], buyer);
    await cli(['cloud', 'audit', cluster.id, '--wait-settled', '120'], buyer, 180_000);
    await sleep(1_000);
    const token = await getJson<TokenResponse>(`${url}/v1/explorer/token`);
    const emissions = await getJson<EmissionsResponse>(`${url}/v1/explorer/emissions?limit=100`);

    return {
      network: { url, workers: 3, epoch_seconds: o.epochSeconds, settle_seconds: SETTLE_SECONDS },
      devices: [...roles].map(([device, role]) => ({ role, device })),
      cluster: cluster.id,
      epochs: emissions.epochs.reverse().map((e) => ({
        idx: e.idx, state: e.state, utilization_bps: e.utilizationBps, served_gpu_seconds: e.servedGpuSeconds, available_gpu_seconds: e.availableGpuSeconds,
        emission_io: e.emissionIo, stipend_pool_io: e.stipendPoolIo, usage_pool_io: e.usagePoolIo, treasury_io: e.treasuryIo,
        protocol_fee_bps: e.params?.['protocol_fee_bps'] ?? null, mint_signatures: e.signatures.length,
        devices: e.rewards.map((r) => ({
          role: roles.get(r.deviceId) ?? 'other', device: r.deviceId, stipend_io: r.stipendIo, bonus_io: r.bonusIo, tier: r.tier,
          uptime_seconds: r.uptimeSeconds, served_gpu_seconds: r.servedGpuSeconds, ineligible: r.ineligible,
        })),
      })),
      governance: {
        proposal: proposal.id, param: 'protocol_fee_bps', from: '250', to: String(PROPOSED_FEE_BPS), in_force: governance.inForce,
        applied_epoch: governance.appliedEpoch, batches_after: governance.batchesAfter, measured_fee_bps_after: governance.measuredFeeBps,
        new_fee_charged: governance.newFeeCharged,
      },
      governance_applied: governance.inForce === String(PROPOSED_FEE_BPS) && governance.newFeeCharged,
      estimate,
      token,
      conservation: token.conservation,
      seconds: Math.round((Date.now() - started) / 1000),
    };
  } finally {
    up.child.kill('SIGTERM');
    await exited(up.child, 60_000).catch(() => up.child.kill('SIGKILL'));
  }
}

interface GovernanceState {
  inForce: string | null;
  appliedEpoch: number | null;
  /** Settlement batches cut after the change was applied, and the fee they charged (bps of gross). */
  batchesAfter: number;
  /** fee ÷ gross of those batches (below the rate when records are small: each record's fee is rounded down). */
  measuredFeeBps: number | null;
  /** Every batch since charged exactly the new rate, record by record rounded down. */
  newFeeCharged: boolean;
}

async function governanceState(url: string): Promise<GovernanceState> {
  const params = await getJson<ParamsResponse>(`${url}/v1/params`);
  const inForce = params.params.find((p) => p.name === 'protocol_fee_bps')?.value ?? null;
  const change = params.history.filter((h) => h.name === 'protocol_fee_bps').at(-1);
  if (change === undefined) return { inForce, appliedEpoch: null, batchesAfter: 0, measuredFeeBps: null, newFeeCharged: false };
  const payouts = await getJson<ExplorerPayoutsResponse>(`${url}/v1/explorer/payouts?limit=100`);
  const after = payouts.batches.filter((b) => b.cutoffMs > change.appliedAt);
  const units = (io: string) => parseDecimal(io);
  const gross = after.reduce((s, b) => s + units(b.grossIo), 0n);
  const fee = after.reduce((s, b) => s + units(b.feeIo), 0n);
  // The fee is rounded down per meter record, so a batch's fee is within `records` base units below gross × bps.
  const charged = (bps: bigint) =>
    after.every((b) => {
      const exact = (units(b.grossIo) * bps) / 10_000n;
      return units(b.feeIo) <= exact && units(b.feeIo) >= exact - BigInt(b.records);
    });
  return {
    inForce, appliedEpoch: change.epochIndex, batchesAfter: after.length,
    measuredFeeBps: gross > 0n ? Number((fee * 100_000n) / gross) / 10 : null,
    newFeeCharged: after.length > 0 && charged(BigInt(PROPOSED_FEE_BPS)),
  };
}
