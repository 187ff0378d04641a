import { IdlegridError } from './errors.ts';

/** Normalized GPU model names, as users type them and the scheduler matches them. */
export const GPU_MODELS = [
  'H200', 'H100', 'GH200', 'B200', 'A100', 'A800', 'H800', 'L40S', 'L40', 'L4', 'A10G', 'A10',
  'A40', 'A6000', 'V100', 'T4', 'RTX6000ADA', 'RTX5090', 'RTX4090', 'RTX4080', 'RTX3090', 'RTX3080',
  'cpu',
] as const;

export type GpuModel = (typeof GPU_MODELS)[number];

const BY_LOWER = new Map<string, GpuModel>(GPU_MODELS.map((m) => [m.toLowerCase(), m]));

export function isGpuModel(value: string): value is GpuModel {
  return (GPU_MODELS as readonly string[]).includes(value);
}

/** Accepts a model as a user types it (`h100`, `rtx4090`, `CPU`) and returns its normalized name. */
export function parseGpuModel(value: string): GpuModel {
  const model = BY_LOWER.get(value.trim().toLowerCase().replace(/[\s_-]/g, ''));
  if (!model) throw new IdlegridError('UNKNOWN_GPU_MODEL', { value, known: GPU_MODELS });
  return model;
}

/**
 * Maps the product name nvidia-smi reports ("NVIDIA H100 80GB HBM3",
 * "NVIDIA GeForce RTX 4090", "Tesla V100-SXM2-16GB") to a normalized model, or null.
 * Order matters: longer, more specific patterns first.
 */
const NAME_PATTERNS: ReadonlyArray<readonly [RegExp, GpuModel]> = [
  [/\bGH200\b/i, 'GH200'],
  [/\bH200\b/i, 'H200'],
  [/\bH100\b/i, 'H100'],
  [/\bH800\b/i, 'H800'],
  [/\bB200\b/i, 'B200'],
  [/\bA100\b/i, 'A100'],
  [/\bA800\b/i, 'A800'],
  [/\bL40S\b/i, 'L40S'],
  [/\bL40\b/i, 'L40'],
  [/\bL4\b/i, 'L4'],
  [/\bA10G\b/i, 'A10G'],
  [/\bA10\b/i, 'A10'],
  [/\bA40\b/i, 'A40'],
  [/\bRTX\s*6000\s*Ada\b/i, 'RTX6000ADA'],
  [/\bRTX\s*A6000\b/i, 'A6000'],
  [/\bV100\b/i, 'V100'],
  [/\bT4\b/i, 'T4'],
  [/\bRTX\s*5090\b/i, 'RTX5090'],
  [/\bRTX\s*4090\b/i, 'RTX4090'],
  [/\bRTX\s*4080\b/i, 'RTX4080'],
  [/\bRTX\s*3090\b/i, 'RTX3090'],
  [/\bRTX\s*3080\b/i, 'RTX3080'],
];

export function normalizeGpuName(productName: string): GpuModel | null {
  for (const [pattern, model] of NAME_PATTERNS) if (pattern.test(productName)) return model;
  return null;
}

export const TIERS = ['bronze', 'silver', 'gold', 'platinum'] as const;
export type Tier = (typeof TIERS)[number];

export function tierRank(tier: Tier): number {
  return TIERS.indexOf(tier);
}

export function meetsTier(tier: Tier, minimum: Tier): boolean {
  return tierRank(tier) >= tierRank(minimum);
}

/** A model as a user types it (`h100`, `RTX4090`, `cpu`) or as nvidia-smi names it ("NVIDIA GeForce RTX 4090"); else UNKNOWN_GPU_MODEL. */
export function parseGpuModelOrProductName(text: string): GpuModel {
  try {
    return parseGpuModel(text);
  } catch (err) {
    const fromProductName = normalizeGpuName(text);
    if (fromProductName !== null) return fromProductName;
    throw err;
  }
}
