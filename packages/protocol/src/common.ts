import { z } from 'zod';
import { GPU_MODELS, isAddress, isRegionId, TIERS } from '@idlegrid/domain';

export const addressSchema = z
  .string()
  .refine(isAddress, { message: 'expected a Solana address (base58 of 32 bytes)' });
export const regionSchema = z
  .string()
  .refine(isRegionId, { message: 'unknown region; see `idlegrid regions` or DESIGN.md' });
export const gpuModelSchema = z.enum(GPU_MODELS);
export const tierSchema = z.enum(TIERS);
/** A non-negative decimal with at most 6 fraction digits, e.g. "1.25" (USD or IO). */
export const decimalSchema = z.string().regex(/^\d{1,18}(\.\d{1,6})?$/, 'expected a decimal such as "1.25" (at most 6 decimals)');
/** An IO amount a request asks to move: at most 12 integer digits, so that its base units fit a signed 64-bit column. */
export const ioAmountSchema = z.string().regex(/^\d{1,12}(\.\d{1,6})?$/, 'expected an IO amount such as "12.5" (at most 12 digits before the point and 6 after)');
export const base58SignatureSchema = z.string().regex(/^[1-9A-HJ-NP-Za-km-z]{64,90}$/, 'expected a base58 ed25519 signature');
export const nonceSchema = z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, 'expected a server nonce');

export const coordinateSchema = z.object({
  x: z.number().finite(),
  y: z.number().finite(),
  h: z.number().finite().nonnegative(),
});
export type NetworkCoordinate = z.infer<typeof coordinateSchema>;

export const gpuInfoSchema = z.object({
  index: z.number().int().nonnegative(),
  name: z.string().max(200),
  model: gpuModelSchema.nullable(),
  uuid: z.string().max(100),
  memoryMiB: z.number().int().nonnegative(),
  driverVersion: z.string().max(50),
  cudaVersion: z.string().max(20).nullable(),
  pcieGen: z.number().int().nonnegative().nullable(),
  pcieWidth: z.number().int().nonnegative().nullable(),
  powerLimitW: z.number().nonnegative().nullable(),
  computeCapability: z.string().max(10).nullable(),
});
export type GpuInfo = z.infer<typeof gpuInfoSchema>;

/** What the agent's probe reports about its host. Claims are untrusted until verified. */
export const hardwareReportSchema = z.object({
  gpus: z.array(gpuInfoSchema).max(64),
  cpu: z.object({ model: z.string().max(200), cores: z.number().int().positive() }),
  memoryBytes: z.number().int().nonnegative(),
  os: z.object({ platform: z.string().max(50), release: z.string().max(100), arch: z.string().max(50) }),
  /** The model this device offers and how many slots of it (GPUs of that model, or 1 cpu slot). */
  offer: z.object({ model: gpuModelSchema, slots: z.number().int().positive().max(64) }),
});
export type HardwareReport = z.infer<typeof hardwareReportSchema>;
