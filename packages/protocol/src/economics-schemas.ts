import { z } from 'zod';
import { decimalSchema, gpuModelSchema, tierSchema } from './common.ts';

/**
 * The read-only economics API: the governable parameters in force (`GET /v1/params`) and a
 * supplier's expected daily earnings on the live network (`GET /v1/estimate`). Amounts are
 * decimal strings (6 decimals at most), as everywhere else in the API.
 */

/** A decimal that may be negative (a loss), e.g. "-1.5". */
const signedDecimalSchema = z.string().regex(/^-?\d{1,18}(\.\d{1,6})?$/, 'expected a decimal such as "-1.25" (at most 6 decimals)');

// ---- GET /v1/params ------------------------------------------------------------------

export const paramViewSchema = z.object({
  name: z.string().describe('parameter name as DESIGN and governance spell it, e.g. protocol_fee_bps'),
  kind: z.enum(['bps', 'hours', 'micro_io', 'micro_usd']).describe('bps and hours are integers; IO and USD are decimals'),
  value: z.string().describe('the value in force, written as a proposal would write it ("250", "1.25")'),
  default: z.string(),
  min: z.string().describe('inclusive bound'),
  max: z.string().describe('inclusive bound'),
  unit: z.string(),
  description: z.string(),
  source: z.enum(['default', 'config', 'governance']).describe("where the value in force comes from: the protocol default, the control plane's configuration, or an applied governance proposal"),
  inBounds: z.boolean().describe('whether the value in force lies within [min, max] (a configured value may not)'),
});
export type ParamView = z.infer<typeof paramViewSchema>;

export const paramChangeViewSchema = z.object({
  name: z.string(),
  oldValue: z.string(),
  newValue: z.string(),
  proposalId: z.string(),
  epochIndex: z.number().int().describe('the epoch whose close applied it'),
  appliedAt: z.number().int().describe('unix ms'),
});
export type ParamChangeView = z.infer<typeof paramChangeViewSchema>;

export const paramsResponseSchema = z.object({
  params: z.array(paramViewSchema).describe("every governable parameter, in DESIGN's order"),
  history: z.array(paramChangeViewSchema).describe('applied parameter changes, oldest first'),
});
export type ParamsResponse = z.infer<typeof paramsResponseSchema>;

// ---- GET /v1/estimate ----------------------------------------------------------------

export const estimateQuerySchema = z.object({
  gpu: z
    .string()
    .transform((s) => s.trim())
    .pipe(z.string().min(1).max(100))
    .describe('GPU model, e.g. H100, rtx4090 or cpu (case-insensitive); an nvidia-smi product name also works'),
  count: z.coerce.number().int().min(1).max(64).default(1).describe('GPU slots the host would offer'),
  powerCost: decimalSchema.default('0.15').describe('electricity price, USD per kWh (default 0.15)'),
  watts: z.coerce.number().int().min(1).max(100_000).optional().describe('average power draw of the whole host (default: per-GPU board power × count)'),
  price: decimalSchema.optional().describe('asking price, USD per GPU-hour (default: the median asked by online devices of the model)'),
  tier: tierSchema.default('bronze').describe('reputation tier (a new device starts at bronze)'),
});
export type EstimateQuery = z.infer<typeof estimateQuerySchema>;

export const estimateResponseSchema = z.object({
  gpu: gpuModelSchema,
  count: z.number().int(),
  tier: tierSchema,
  inputs: z.object({
    powerCostUsdPerKwh: decimalSchema,
    watts: z.number().int(),
    wattsSource: z.enum(['query', 'default']),
    pricePerGpuHour: decimalSchema.describe('USD per GPU-hour'),
    priceSource: z.enum(['query', 'market_median', 'none']).describe('none: no price given and no device of the model online, so leases earn 0'),
  }),
  network: z.object({
    models: z.array(z.object({ gpuModel: gpuModelSchema, devices: z.number().int(), slots: z.number().int() })).describe('online devices and their slots per model'),
    devicesOnline: z.number().int(),
    windowSeconds: z.number().int().describe('utilization is measured over this many seconds up to now'),
    servedGpuSeconds: z.number().describe('metered GPU-seconds (seconds × slots) inside the window'),
    availableGpuSeconds: z.number().int().describe('online slots × window'),
    utilizationBps: z.number().int().min(0).max(10_000),
    epochSeconds: z.number().int(),
    averageTierX100: z.number().int().describe('mean tier multiplier ×100 of the online slots, weighted by class'),
    ioUsdPrice: decimalSchema.describe('USD per IO used to value IO'),
  }),
  estimate: z.object({
    io_per_day: decimalSchema,
    usd_per_day: decimalSchema,
    power_cost_usd_per_day: decimalSchema,
    profit_usd_per_day: signedDecimalSchema,
    stake_required_io: decimalSchema,
    stipend_io_per_day: decimalSchema,
    bonus_io_per_day: decimalSchema,
    lease_io_per_day: decimalSchema,
    lease_usd_per_day: decimalSchema,
    emission_io_per_epoch: decimalSchema,
    stipend_eligible: z.boolean(),
  }),
  profitable: z.boolean().describe('go / no-go: profit_usd_per_day > 0'),
});
export type EstimateResponse = z.infer<typeof estimateResponseSchema>;
