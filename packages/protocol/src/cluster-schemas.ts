import { z } from 'zod';
import { isLeaseId } from '@idlegrid/domain';
import { addressSchema, decimalSchema, gpuModelSchema, regionSchema, tierSchema } from './common.ts';

/** What a buyer asks for: the body of POST /v1/quotes and POST /v1/clusters. */
export const clusterRequestSchema = z.object({
  gpu: z.string().min(1).max(20).describe('GPU model, e.g. H100, RTX4090 or cpu (case-insensitive)'),
  count: z.number().int().min(1).max(10_000).describe('GPU slots'),
  hours: z.number().positive().max(24 * 365).describe('duration in hours (fractions allowed)'),
  regions: z.array(regionSchema).max(32).optional().describe('allowed regions; any when absent'),
  minTier: tierSchema.optional(),
  maxPrice: decimalSchema.optional().describe('highest USD per GPU-hour you accept'),
  topology: z.enum(['tight', 'spread']).default('tight').describe('tight: lowest latency (training); spread: lowest price (batch)'),
  pay: z.enum(['IO', 'USDC']).default('IO'),
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes').optional(),
  verifiedOnly: z.boolean().default(false).describe('only devices that passed proof-of-GPU verification'),
});
export type ClusterRequest = z.infer<typeof clusterRequestSchema>;
export type ClusterRequestInput = z.input<typeof clusterRequestSchema>;

export const placedDeviceViewSchema = z.object({
  deviceId: addressSchema,
  slots: z.number().int(),
  region: regionSchema,
  tier: tierSchema,
  pricePerGpuHour: decimalSchema,
});

export const feasibleQuoteSchema = z.object({
  feasible: z.literal(true),
  request: clusterRequestSchema,
  gpuModel: gpuModelSchema,
  devices: z.array(placedDeviceViewSchema),
  slots: z.number().int(),
  regions: z.array(regionSchema),
  estimatedRttMs: z.object({ max: z.number(), mean: z.number() }),
  pricePerHour: decimalSchema.describe('USD per hour for the whole cluster'),
  total: decimalSchema.describe('USD for the whole duration'),
});

export const alternativeViewSchema = z.object({
  change: z.enum(['region', 'tier', 'price', 'verified', 'count', 'combined']),
  summary: z.string(),
  request: clusterRequestSchema,
  pricePerHour: decimalSchema,
  total: decimalSchema,
  estimatedMaxRttMs: z.number(),
});

export const infeasibleQuoteSchema = z.object({
  feasible: z.literal(false),
  request: clusterRequestSchema,
  reason: z.string(),
  stages: z.array(z.object({ stage: z.string(), remaining: z.number().int(), devices: z.number().int() })),
  available: z.number().int(),
  alternatives: z.array(alternativeViewSchema),
});

export const quoteResponseSchema = z.discriminatedUnion('feasible', [feasibleQuoteSchema, infeasibleQuoteSchema]);
export type QuoteResponse = z.infer<typeof quoteResponseSchema>;
export type FeasibleQuote = z.infer<typeof feasibleQuoteSchema>;
export type InfeasibleQuote = z.infer<typeof infeasibleQuoteSchema>;

export const leaseStateSchema = z.enum(['requested', 'allocating', 'provisioning', 'ready', 'degraded', 'releasing', 'ended', 'failed']);

export const clusterNodeViewSchema = z.object({
  deviceId: addressSchema,
  role: z.enum(['head', 'worker']),
  slots: z.number().int(),
  state: z.enum(['assigned', 'starting', 'joined', 'lost', 'released', 'failed']),
  pricePerGpuHour: decimalSchema,
  rayNodeId: z.string().nullable(),
  nodeIp: z.string().nullable(),
  assignedAt: z.number().int(),
  joinedAt: z.number().int().nullable(),
  endedAt: z.number().int().nullable(),
  endReason: z.string().nullable(),
  /** Seconds this node was joined to Ray while the lease ran: what it is billed for. */
  billedSeconds: z.number().int(),
});

export const clusterViewSchema = z.object({
  id: z.string(),
  name: z.string().nullable(),
  state: leaseStateSchema,
  gpuModel: gpuModelSchema,
  slots: z.number().int(),
  topology: z.enum(['tight', 'spread']),
  request: clusterRequestSchema,
  pricePerHour: decimalSchema,
  createdAt: z.number().int(),
  readyAt: z.number().int().nullable(),
  expiresAt: z.number().int(),
  endedAt: z.number().int().nullable(),
  failureReason: z.string().nullable(),
  notices: z.array(z.object({ atMs: z.number().int(), text: z.string() })),
  headDeviceId: addressSchema.nullable(),
  /** Use these with the tools you already have: `ray job submit --address <ray> --headers …`. */
  endpoints: z.object({ ray: z.string(), serve: z.string() }),
  nodes: z.array(clusterNodeViewSchema),
  /** USD accrued so far: Σ billed seconds × price. */
  accruedUsd: decimalSchema,
});
export type ClusterView = z.infer<typeof clusterViewSchema>;

export const clusterListResponseSchema = z.object({ clusters: z.array(clusterViewSchema) });
export const clusterIdParamSchema = z.object({ id: z.string().refine(isLeaseId, 'expected a cluster id (lse_…)') });
export const extendRequestSchema = z.object({ hours: z.number().positive().max(24 * 365) });
export const clusterListQuerySchema = z.object({
  state: z.union([leaseStateSchema, z.literal('active')]).optional().describe('a state, or "active" for every non-final state'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
