import type { Command } from 'commander';
import pino from 'pino';
import { IdlegridError, parseGpuModelOrProductName, toDeviceId } from '@idlegrid/domain';
import { readKeypairFile, type DeviceDetail, type EstimateResponse, type HardwareReport } from '@idlegrid/protocol';
import { defaultPriceFor, loadAgentConfig, probeHardware, setupWorker, startAgent } from '@idlegrid/agent';
import { CloudClient } from '../cloud-client.ts';
import { resolveCloudUrl } from '../home.ts';
import { emit, progress, table, type GlobalOptions } from '../output.ts';
import { waitForSignal } from '../signals.ts';

interface StartOptions {
  keypair?: string;
  dataDir?: string;
  region?: string;
  price?: string;
  payout?: string;
}

export function addWorkerCommands(program: Command, globals: () => GlobalOptions): void {
  const worker = program.command('worker').description('Supply GPUs: run the agent on this machine and see how it does');

  worker
    .command('start')
    .description('Run the supplier agent until interrupted: probe hardware, register, heartbeat')
    .option('--keypair <file>', 'device identity keypair (created with mode 0600 if missing)')
    .option('--data-dir <dir>', 'agent state directory (default ~/.idlegrid/agent)')
    .option('--region <region>', 'where this machine is, e.g. us-east, eu-central, local')
    .option('--price <usd>', 'asking price in USD per GPU-hour')
    .option('--payout <address>', 'Solana address that receives earnings (default: the device key)')
    .action(async (opts: StartOptions) => {
      const g = globals();
      const cloudUrl = await resolveCloudUrl(g.cloud, process.env);
      const config = loadAgentConfig(process.env, { cloudUrl, ...agentOverrides(opts) });
      // Logs go to stderr so that stdout carries only the command's own output.
      const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'info', base: { app: 'agent' } }, pino.destination(2));
      const handle = await startAgent(config, { logger });
      const bar = progress(g);
      bar.update(`Connecting to ${cloudUrl} …`);
      let announced = false;
      // Resolves when the agent stops by itself (e.g. another process took over its key).
      const stoppedByCloud = new Promise<IdlegridError | undefined>((resolve) => {
        handle.onState((state, detail) => {
          if (state === 'online' && !announced) {
            announced = true;
            bar.done();
            emit(g, { started: true, deviceId: handle.deviceId, cloud: cloudUrl, offer: handle.hardware.offer, pricePerGpuHour: handle.pricePerGpuHour, payout: handle.payout }, () =>
              `Agent for device ${handle.deviceId} offering ${handle.hardware.offer.slots} × ${handle.hardware.offer.model} at $${handle.pricePerGpuHour}/GPU-hour to ${cloudUrl}. Ctrl-C to stop.`,
            );
          } else if (state === 'backoff' && !announced) {
            bar.update(`Cannot reach ${cloudUrl} yet (${detail.error?.message ?? 'retrying'}); retrying …`);
          } else if (state === 'stopped') {
            resolve(detail.error);
          }
        });
      });
      const outcome = await Promise.race([waitForSignal().then(() => undefined), stoppedByCloud]);
      await handle.stop();
      if (outcome) throw outcome;
    });

  worker
    .command('setup')
    .description('Prepare this machine to run cluster nodes: install the pinned Ray into its venv, create the sandbox user, check the sandbox')
    .option('--data-dir <dir>', 'agent state directory (default ~/.idlegrid/agent)')
    .option('--sandbox <mode>', 'user | bwrap | none (default: the best that works here)')
    .action(async (opts: { dataDir?: string; sandbox?: string }) => {
      const g = globals();
      const result = await setupWorker(process.env, {
        overrides: agentOverrides(opts),
        ...(g.json ? {} : { onOutput: (chunk: string) => process.stderr.write(chunk) }),
      });
      emit(g, { venv: result.venv.venvDir, sandbox: result.sandbox, sandboxUser: result.sandboxUser?.name ?? null, description: result.description, dataDir: result.dataDir }, () =>
        `Ready to supply: Ray in ${result.venv.venvDir}; sandbox ${result.sandbox} (${result.description}). Next: idlegrid worker start --cloud URL`,
      );
    });

  worker
    .command('probe')
    .description('Print the hardware report this machine would register with')
    .action(async () => {
      const report = await probeHardware();
      emit(globals(), report, () => renderProbe(report));
    });

  worker
    .command('status')
    .description("This device's registration as the cloud sees it: status, tier, last heartbeat")
    .option('--keypair <file>', 'device keypair (default <data-dir>/device-key.json)')
    .option('--data-dir <dir>', 'agent state directory (default ~/.idlegrid/agent)')
    .action(async (opts: { keypair?: string; dataDir?: string }) => {
      const g = globals();
      const cloudUrl = await resolveCloudUrl(g.cloud, process.env);
      const config = loadAgentConfig(process.env, { cloudUrl, ...agentOverrides(opts) });
      const keypair = await readKeypairFile(config.keypairPath).catch((e: unknown) => {
        throw new IdlegridError('KEYPAIR_INVALID', { path: config.keypairPath, reason: 'no device key yet; run `idlegrid worker start` first' }, { cause: e });
      });
      const device = await new CloudClient(config.cloudUrl, process.env).get<DeviceDetail>(`/v1/devices/${toDeviceId(keypair.address)}`);
      const e = device.earnings;
      emit(g, device, () =>
        [
          table(['DEVICE', 'STATUS', 'GPU', 'SLOTS', 'REGION', 'USD/GPU-H', 'TIER', 'LAST SEEN'], [[
            device.id, device.status, device.gpuModel, device.slots, device.region, device.pricePerGpuHour, device.tier,
            new Date(device.lastSeenAt).toISOString(),
          ]]),
          `Earned: ${e.paidIo} IO paid to ${device.payout}, ${e.pendingIo} IO pending, for ${e.gpuSeconds} GPU-seconds (protocol fee ${e.feeIo} IO)`,
        ].join('\n'),
      );
    });

  worker
    .command('estimate')
    .description('What a host would earn on the network as it is now: IO and USD per day, power cost, profit, stake required')
    .requiredOption('--gpu <model>', 'GPU model (H100, A100, L40S, RTX4090, cpu, …)')
    .option('--count <n>', 'GPU slots the host offers (default 1)')
    .option('--power-cost <usd>', 'electricity price, USD per kWh (default 0.15)')
    .option('--watts <w>', 'average power draw of the whole host (default: board power per GPU × count)')
    .option('--price <usd>', 'asking price, USD per GPU-hour (default: what `worker start` asks for the model)')
    .action(async (opts: EstimateOptions) => {
      const g = globals();
      const model = parseGpuModelOrProductName(opts.gpu);
      const client = new CloudClient(await resolveCloudUrl(g.cloud, process.env), process.env);
      const estimate = await client.get<EstimateResponse>('/v1/estimate', {
        gpu: model,
        count: opts.count,
        powerCost: opts.powerCost,
        watts: opts.watts,
        price: opts.price ?? defaultPriceFor(model),
      });
      emit(g, estimate, () => renderEstimate(estimate));
    });
}

interface EstimateOptions {
  gpu: string;
  count?: string;
  powerCost?: string;
  watts?: string;
  price?: string;
}


function renderEstimate(r: EstimateResponse): string {
  const e = r.estimate;
  const n = r.network;
  const rows: Array<[string, string]> = [
    ['IO per day', `${e.io_per_day} IO (stipend ${e.stipend_io_per_day}${e.stipend_eligible ? '' : ', not eligible'} + usage bonus ${e.bonus_io_per_day} + leases ${e.lease_io_per_day})`],
    ['USD per day', `$${e.usd_per_day} (IO at $${n.ioUsdPrice})`],
    ['Power per day', `$${e.power_cost_usd_per_day} (${r.inputs.watts} W at $${r.inputs.powerCostUsdPerKwh}/kWh)`],
    ['Profit per day', `$${e.profit_usd_per_day}`],
    ['Stake required', `${e.stake_required_io} IO`],
  ];
  const network = `Network now: ${n.devicesOnline} device(s) online` +
    (n.models.length === 0 ? '' : ` (${n.models.map((m) => `${m.slots} × ${m.gpuModel}`).join(', ')})`) +
    `, utilization ${(n.utilizationBps / 100).toFixed(2)} % over the last ${n.windowSeconds / 60} min, ` +
    `emission ${e.emission_io_per_epoch} IO per ${n.epochSeconds / 60}-min epoch.`;
  const verdict = r.profitable
    ? `GO: ${r.count} × ${r.gpu} at $${r.inputs.pricePerGpuHour}/GPU-hour (${r.tier}) would earn more than its power costs.`
    : `NO-GO: ${r.count} × ${r.gpu} at $${r.inputs.pricePerGpuHour}/GPU-hour (${r.tier}) would not earn more than its power costs.`;
  return [table(['', 'ESTIMATE'], rows), network, verdict].join('\n');
}

/** Agent settings from `worker` flags (flags win over IDLEGRID_* variables). */
function agentOverrides(flags: StartOptions & { sandbox?: string }) {
  const pairs = [
    ['keypairPath', flags.keypair], ['dataDir', flags.dataDir], ['region', flags.region],
    ['pricePerGpuHour', flags.price], ['payout', flags.payout], ['sandbox', flags.sandbox],
  ] as const;
  return Object.fromEntries(pairs.filter(([, v]) => v !== undefined)) as {
    keypairPath?: string; dataDir?: string; region?: string; pricePerGpuHour?: string; payout?: string; sandbox?: string;
  };
}

function renderProbe(r: HardwareReport): string {
  const gpus = r.gpus.length === 0
    ? 'No NVIDIA GPU found (nvidia-smi absent or no devices).'
    : table(['#', 'MODEL', 'NAME', 'MEMORY', 'UUID', 'DRIVER', 'CUDA'], r.gpus.map((g) => [
      g.index, g.model ?? '?', g.name, `${g.memoryMiB} MiB`, g.uuid, g.driverVersion, g.cudaVersion ?? '-',
    ]));
  return [
    gpus,
    `CPU: ${r.cpu.model} (${r.cpu.cores} cores), memory ${(r.memoryBytes / 2 ** 30).toFixed(1)} GiB, ${r.os.platform} ${r.os.arch}`,
    `Offers: ${r.offer.slots} × ${r.offer.model} slot(s)`,
  ].join('\n');
}
