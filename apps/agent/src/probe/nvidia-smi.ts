import { normalizeGpuName } from '@idlegrid/domain';
import type { GpuInfo } from '@idlegrid/protocol';

/** The fields the probe asks nvidia-smi for, in this order (the fixture was captured with exactly these). */
export const GPU_QUERY_FIELDS = [
  'index', 'name', 'uuid', 'memory.total', 'memory.used', 'driver_version', 'pcie.link.gen.current',
  'pcie.link.width.current', 'power.limit', 'clocks.max.sm', 'compute_cap',
] as const;

/** Drivers older than 510 refuse `compute_cap`; the probe retries with the other fields. */
export const LEGACY_GPU_QUERY_FIELDS = GPU_QUERY_FIELDS.filter((f) => f !== 'compute_cap');

export type GpuQueryField = (typeof GPU_QUERY_FIELDS)[number];

export function gpuQueryArgs(fields: readonly GpuQueryField[]): string[] {
  return [`--query-gpu=${fields.join(',')}`, '--format=csv,noheader,nounits'];
}

export interface ParsedGpus {
  gpus: GpuInfo[];
  /** Non-empty lines that could not be read as a GPU, for the log. */
  rejected: string[];
}

const NAME_COLUMN = 1;
const MAX_NAME = 200;
const MAX_UUID = 100;
const MAX_DRIVER = 50;
const MAX_COMPUTE_CAP = 10;

/**
 * Parses `nvidia-smi --query-gpu=<fields> --format=csv,noheader,nounits` output. A line
 * is one GPU; it is rejected when its index, name or total memory is unreadable. Values
 * nvidia-smi cannot report ("[N/A]", "[Not Supported]", empty) become null.
 */
export function parseGpuCsv(text: string, cudaVersion: string | null, fields: readonly GpuQueryField[] = GPU_QUERY_FIELDS): ParsedGpus {
  const gpus: GpuInfo[] = [];
  const rejected: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '') continue;
    const gpu = parseGpuLine(line, cudaVersion, fields);
    if (gpu) gpus.push(gpu);
    else rejected.push(line.slice(0, 300));
  }
  return { gpus, rejected };
}

function parseGpuLine(line: string, cudaVersion: string | null, fields: readonly GpuQueryField[]): GpuInfo | null {
  const columns = splitColumns(line, fields.length);
  if (!columns) return null;
  const value = (field: GpuQueryField): string | null => {
    const i = fields.indexOf(field);
    return i < 0 ? null : reported(columns[i] ?? '');
  };
  const index = toInteger(value('index'));
  const name = value('name');
  const memoryMiB = toInteger(value('memory.total'));
  if (index === null || name === null || memoryMiB === null) return null;
  const computeCapability = value('compute_cap');
  return {
    index,
    name: name.slice(0, MAX_NAME),
    model: normalizeGpuName(name),
    uuid: (value('uuid') ?? '').slice(0, MAX_UUID),
    memoryMiB,
    driverVersion: (value('driver_version') ?? '').slice(0, MAX_DRIVER),
    cudaVersion,
    pcieGen: toInteger(value('pcie.link.gen.current')),
    pcieWidth: toInteger(value('pcie.link.width.current')),
    powerLimitW: toNumber(value('power.limit')),
    computeCapability: computeCapability !== null && /^\d+\.\d+$/.test(computeCapability)
      ? computeCapability.slice(0, MAX_COMPUTE_CAP)
      : null,
  };
}

/**
 * Splits a CSV line into exactly `count` columns. nvidia-smi does not quote, so a product
 * name containing a comma yields extra columns: they are joined back into the name.
 */
function splitColumns(line: string, count: number): string[] | null {
  const parts = line.split(',').map((p) => p.trim());
  if (parts.length < count) return null;
  const extra = parts.length - count;
  if (extra === 0) return parts;
  const name = parts.slice(NAME_COLUMN, NAME_COLUMN + extra + 1).join(', ');
  return [...parts.slice(0, NAME_COLUMN), name, ...parts.slice(NAME_COLUMN + extra + 1)];
}

/** nvidia-smi writes "[N/A]", "[Not Supported]", "[Unknown Error]"… for values it cannot read. */
function reported(value: string): string | null {
  const v = value.trim();
  if (v === '' || /^\[.*\]$/.test(v) || /^n\/?a$/i.test(v)) return null;
  return v;
}

function toInteger(value: string | null): number | null {
  if (value === null || !/^\d{1,9}$/.test(value)) return null;
  return Number(value);
}

function toNumber(value: string | null): number | null {
  if (value === null || !/^\d{1,9}(\.\d+)?$/.test(value)) return null;
  return Number(value);
}

/**
 * Reads the CUDA version the driver supports from plain `nvidia-smi` output
 * ("CUDA Version: 13.0") or from `nvidia-smi -q -x` ("<cuda_version>13.0</cuda_version>").
 */
export function parseCudaVersion(text: string): string | null {
  const match = /CUDA Version\s*:\s*(\d+(?:\.\d+){0,2})\b/.exec(text) ?? /<cuda_version>\s*(\d+(?:\.\d+){0,2})\s*<\/cuda_version>/.exec(text);
  return match?.[1] ?? null;
}
