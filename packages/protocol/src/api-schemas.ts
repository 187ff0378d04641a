import { z } from 'zod';
import {
  addressSchema, base58SignatureSchema, coordinateSchema, decimalSchema, gpuModelSchema,
  hardwareReportSchema, nonceSchema, regionSchema, tierSchema,
} from './common.ts';
import { verificationStatusSchema } from './verification-schemas.ts';

export const errorBodySchema = z.object({
  error: z.object({
    code: z.string().describe('stable SNAKE_CASE code'),
    message: z.string(),
    details: z.record(z.string(), z.unknown()),
  }),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

// ---- auth ------------------------------------------------------------------------

export const authChallengeQuerySchema = z.object({ wallet: addressSchema });
export const authChallengeResponseSchema = z.object({
  nonce: nonceSchema,
  wallet: addressSchema,
  expiresAt: z.number().int(),
  message: z.string().describe('the exact text to sign with the wallet key (ed25519, base58 signature)'),
});
export const createApiKeyRequestSchema = z.object({
  wallet: addressSchema,
  nonce: nonceSchema,
  signature: base58SignatureSchema,
  label: z.string().min(1).max(64).optional(),
});
export const createApiKeyResponseSchema = z.object({
  apiKey: z.string().describe('shown once; send as Authorization: Bearer <apiKey>'),
  keyId: z.string(),
  wallet: addressSchema,
});

// ---- devices and supply ------------------------------------------------------------

const regionList = () =>
  z
    .union([z.string(), z.array(z.string())])
    .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter((s) => s.length > 0))
    .pipe(z.array(regionSchema).max(32));

/** Devices GET /v1/supply lists unless asked otherwise, and the most it lists. */
export const SUPPLY_LIST_DEFAULT = 100;
export const SUPPLY_LIST_MAX = 1000;

export const supplyQuerySchema = z.object({
  gpu: z
    .string()
    .transform((s) => s.trim())
    .pipe(z.string().min(1))
    .optional()
    .describe('GPU model, e.g. H100 or cpu (case-insensitive)'),
  region: regionList().optional().describe('one or more regions, comma-separated or repeated'),
  minTier: tierSchema.optional(),
  maxPrice: decimalSchema.optional().describe('USD per GPU-hour'),
  limit: z.coerce
    .number()
    .int()
    .min(1) // like every limit here: from 1, so that an empty `?limit=` (coerced to 0) is refused
    .max(SUPPLY_LIST_MAX)
    .default(SUPPLY_LIST_DEFAULT)
    .describe(`how many of the cheapest matching devices to list; groups and totals always cover every match. Default ${SUPPLY_LIST_DEFAULT}`),
});
export type SupplyQuery = z.infer<typeof supplyQuerySchema>;

export const deviceViewSchema = z.object({
  id: addressSchema,
  status: z.enum(['online', 'offline']),
  gpuModel: gpuModelSchema,
  slots: z.number().int(),
  freeSlots: z.number().int(),
  region: regionSchema,
  pricePerGpuHour: decimalSchema.describe('USD per GPU-hour'),
  payout: addressSchema,
  tier: tierSchema,
  reputation: z.number().int(),
  verified: z.boolean(),
  agentVersion: z.string(),
  hardware: hardwareReportSchema,
  /** Vivaldi network coordinate (ms) with its error estimate; the error falls as the device probes peers. */
  coordinate: coordinateSchema.extend({ error: z.number().optional() }).nullable(),
  firstSeenAt: z.number().int(),
  lastSeenAt: z.number().int(),
});
export type DeviceView = z.infer<typeof deviceViewSchema>;

/** One device with what it has earned from settlement (`GET /v1/devices/{id}`). */
export const deviceDetailSchema = deviceViewSchema.extend({
  earnings: z.object({
    gpuSeconds: z.number().int().describe('GPU-seconds billed to buyers (seconds × slots)'),
    grossIo: decimalSchema,
    feeIo: decimalSchema.describe('protocol fee withheld'),
    paidIo: decimalSchema.describe('net, already transferred on chain to the payout address'),
    pendingIo: decimalSchema.describe('net, in batches recorded but not yet paid'),
  }),
  verification: verificationStatusSchema.describe('proof of GPU: status, verdict counts and recent challenges'),
});
export type DeviceDetail = z.infer<typeof deviceDetailSchema>;

export const supplyGroupSchema = z.object({
  gpuModel: gpuModelSchema,
  region: regionSchema,
  devices: z.number().int(),
  freeSlots: z.number().int(),
  minPricePerGpuHour: decimalSchema,
  maxPricePerGpuHour: decimalSchema,
});

export const supplyResponseSchema = z.object({
  groups: z.array(supplyGroupSchema),
  devices: z.array(deviceViewSchema).describe('the cheapest matching devices, at most `limit`; totals.devices says how many match'),
  totals: z.object({ devices: z.number().int(), freeSlots: z.number().int() }),
});
export type SupplyResponse = z.infer<typeof supplyResponseSchema>;

export const devicesQuerySchema = z.object({
  status: z.enum(['online', 'offline']).optional(),
  gpu: z.string().min(1).optional(),
  region: regionSchema.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: addressSchema.optional().describe('the last id of the previous page'),
});
export const devicesResponseSchema = z.object({
  devices: z.array(deviceViewSchema),
  nextCursor: addressSchema.nullable(),
});
export const deviceIdParamSchema = z.object({ id: addressSchema });

export const healthResponseSchema = z.object({
  ok: z.boolean(),
  version: z.string(),
  store: z.enum(['sqlite', 'postgres']),
  devicesOnline: z.number().int(),
  /** This control-plane process among its replicas (one process alone is its own leader). */
  replica: z.object({ id: z.string(), leader: z.boolean() }),
});

export const replicaViewSchema = z.object({
  id: z.string(),
  /** Where the other replicas reach it. */
  url: z.string(),
  leader: z.boolean(),
  /** Agents connected to it. */
  devices: z.number().int(),
  /** When this replica last heard that it is alive (unix ms). */
  lastAliveAt: z.number().int(),
});
export const replicasResponseSchema = z.object({
  /** The replica that answered. */
  self: z.string(),
  /** The leader's id; null while none is known (an election takes up to a few seconds). */
  leader: z.string().nullable(),
  replicas: z.array(replicaViewSchema),
});
