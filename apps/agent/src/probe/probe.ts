import { GPU_MODELS, IdlegridError, type GpuModel } from '@idlegrid/domain';
import { hardwareReportSchema, type GpuInfo, type HardwareReport } from '@idlegrid/protocol';
import { pino, type Logger } from 'pino';
import { commandFailure, execCommand, type CommandRunner } from './command-runner.ts';
import { readHostFacts, type HostFacts } from './host.ts';
import {
  GPU_QUERY_FIELDS, gpuQueryArgs, LEGACY_GPU_QUERY_FIELDS, parseCudaVersion, parseGpuCsv, type GpuQueryField,
} from './nvidia-smi.ts';

export interface ProbeOptions {
  /** Runs nvidia-smi; tests pass a fake that returns fixture text. */
  run?: CommandRunner;
  host?: () => HostFacts;
  logger?: Logger;
  /** Limit for each nvidia-smi call; a wedged driver can hang it. */
  timeoutMs?: number;
  /** The nvidia-smi program (name on PATH or absolute path). */
  nvidiaSmi?: string;
}

export const DEFAULT_PROBE_TIMEOUT_MS = 5_000;
const MAX_GPUS = 64;
const MAX_SLOTS = 64;

/**
 * Describes this host: its GPUs as nvidia-smi reports them, CPU, memory and OS, and the
 * offer (the most common known GPU model and its count, or one `cpu` slot). Never throws
 * for a host without GPUs: a missing, failing or hanging nvidia-smi means a CPU host.
 */
export async function probeHardware(options: ProbeOptions = {}): Promise<HardwareReport> {
  const run = options.run ?? execCommand;
  const logger = options.logger ?? pino({ level: 'silent' });
  const host = (options.host ?? readHostFacts)();
  const gpus = await probeGpus(run, options.nvidiaSmi ?? 'nvidia-smi', options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS, logger);
  const report: HardwareReport = {
    gpus,
    cpu: { model: host.cpuModel, cores: host.cpuCores },
    memoryBytes: host.memoryBytes,
    os: { platform: host.platform, release: host.release, arch: host.arch },
    offer: computeOffer(gpus),
  };
  const checked = hardwareReportSchema.safeParse(report);
  if (!checked.success) {
    throw new IdlegridError('INTERNAL', { reason: `hardware report does not match its schema: ${checked.error.message}` });
  }
  return checked.data;
}

async function probeGpus(run: CommandRunner, nvidiaSmi: string, timeoutMs: number, logger: Logger): Promise<GpuInfo[]> {
  const options = { timeoutMs };
  // Both calls start together so a hanging driver costs one timeout, not two.
  const plain = run(nvidiaSmi, [], options).then(parseCudaVersion, () => null);
  let fields: readonly GpuQueryField[] = GPU_QUERY_FIELDS;
  let csv: string;
  try {
    csv = await run(nvidiaSmi, gpuQueryArgs(fields), options);
  } catch (error) {
    const failure = commandFailure(error);
    if (failure !== 'failed') {
      logger.info({ reason: (error as Error).message }, 'no NVIDIA GPU found (nvidia-smi unavailable); offering one cpu slot');
      await plain;
      return [];
    }
    fields = LEGACY_GPU_QUERY_FIELDS;
    try {
      csv = await run(nvidiaSmi, gpuQueryArgs(fields), options);
      logger.debug('nvidia-smi does not know compute_cap (driver older than 510); queried without it');
    } catch (retryError) {
      logger.warn({ reason: (error as Error).message, retry: (retryError as Error).message }, 'nvidia-smi failed; offering one cpu slot');
      await plain;
      return [];
    }
  }
  let cudaVersion = await plain;
  if (cudaVersion === null) cudaVersion = await run(nvidiaSmi, ['-q', '-x'], options).then(parseCudaVersion, () => null);
  const { gpus, rejected } = parseGpuCsv(csv, cudaVersion, fields);
  if (rejected.length > 0) logger.warn({ lines: rejected.slice(0, 8) }, 'ignored nvidia-smi lines that are not GPUs');
  if (gpus.length > MAX_GPUS) logger.warn({ found: gpus.length, kept: MAX_GPUS }, 'more GPUs than a report may carry');
  return gpus.slice(0, MAX_GPUS);
}

/**
 * The offer: the most common known GPU model with its count; on a tie the model listed
 * first in GPU_MODELS (the larger part) wins. GPUs of unknown models are not offered; a
 * host without known GPUs offers one `cpu` slot.
 */
export function computeOffer(gpus: readonly GpuInfo[]): { model: GpuModel; slots: number } {
  const counts = new Map<GpuModel, number>();
  for (const gpu of gpus) {
    if (gpu.model !== null && gpu.model !== 'cpu') counts.set(gpu.model, (counts.get(gpu.model) ?? 0) + 1);
  }
  let best: { model: GpuModel; slots: number } | null = null;
  for (const model of GPU_MODELS) {
    const count = counts.get(model) ?? 0;
    if (count > 0 && (best === null || count > best.slots)) best = { model, slots: count };
  }
  if (best === null) return { model: 'cpu', slots: 1 };
  return { model: best.model, slots: Math.min(best.slots, MAX_SLOTS) };
}
