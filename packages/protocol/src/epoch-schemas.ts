import { z } from 'zod';

/** Paging for the epoch explorer: `cursor` is the `next` of the previous page (an epoch index). */
export const epochQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().regex(/^\d{1,12}$/, 'expected an epoch index').optional().describe('the `next` of the previous page'),
});

const io = z.string().describe('IO, decimal');

export const epochRewardSchema = z.object({
  deviceId: z.string(),
  payout: z.string(),
  gpuModel: z.string(),
  gpus: z.number().int(),
  verified: z.boolean(),
  stakeIo: io,
  uptimeSeconds: z.number().int(),
  servedGpuSeconds: z.number().int(),
  tier: z.string(),
  stipendIo: io,
  bonusIo: io,
  ineligible: z.array(z.string()).describe('why no stipend: unverified, under_staked, low_uptime'),
});

export const epochSchema = z.object({
  idx: z.number().int(),
  startMs: z.number().int(),
  endMs: z.number().int(),
  state: z.enum(['open', 'closed', 'minted']),
  servedGpuSeconds: z.number().int(),
  availableGpuSeconds: z.number().int(),
  utilizationBps: z.number().int(),
  emissionIo: io,
  stipendPoolIo: io,
  usagePoolIo: io,
  treasuryIo: io.describe('rounding leftovers and pools nobody qualified for, minted to treasury'),
  params: z.record(z.string(), z.string()).nullable().describe('the parameters in force during the epoch'),
  merkleRoot: z.string().nullable(),
  memo: z.string().nullable(),
  signatures: z.array(z.string()),
});

export const epochsResponseSchema = z.object({
  epochSeconds: z.number().int(),
  epochs: z.array(epochSchema),
  next: z.string().nullable().describe('pass as `cursor` for the next page; null at the end'),
});

export const emissionsResponseSchema = z.object({
  epochs: z.array(epochSchema.extend({ rewards: z.array(epochRewardSchema) })),
  next: z.string().nullable(),
});

export type EpochView = z.infer<typeof epochSchema>;
export type EpochRewardView = z.infer<typeof epochRewardSchema>;
export type EpochsResponse = z.infer<typeof epochsResponseSchema>;
export type EmissionsResponse = z.infer<typeof emissionsResponseSchema>;

export const tokenResponseSchema = z.object({
  mint: z.string().describe('the IO mint address'),
  supplyIo: io.describe('supply recorded in the mint account'),
  accountsTotalIo: io.describe('sum of every IO token account'),
  tokenAccounts: z.number().int(),
  mintedIo: io.nullable().describe('Σ mintTo ever (embedded chain; null on RPC)'),
  burnedIo: io.nullable().describe('Σ burn ever (embedded chain; null on RPC)'),
  conservation: z.boolean().describe('supply = Σ balances and, when known, supply = minted − burned'),
});
export type TokenResponse = z.infer<typeof tokenResponseSchema>;
