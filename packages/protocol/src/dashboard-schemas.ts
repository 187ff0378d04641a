import { z } from 'zod';
import { decimalSchema, ioAmountSchema } from './common.ts';
import { tokenSymbolSchema } from './wallet-schemas.ts';

/**
 * A deposit for a wallet that signs elsewhere (the dashboard signs in the browser with WebCrypto):
 * the server builds the SPL transfer to escrow, the wallet signs `message` and puts its signature
 * at `signatureOffset` of the wire bytes, then relays it with POST /v1/wallet/deposits.
 */
export const unsignedDepositRequestSchema = z.object({
  token: tokenSymbolSchema.default('IO'),
  amount: ioAmountSchema.describe('amount of `token` to deposit, e.g. "25" or "12.5"'),
});
export type UnsignedDepositRequest = z.infer<typeof unsignedDepositRequestSchema>;

export const unsignedDepositResponseSchema = z.object({
  transaction: z.string().describe('base64 wire transaction whose signature slot is zeroed'),
  signatureOffset: z.number().int().describe('byte offset of the 64-byte fee-payer signature slot'),
  messageOffset: z.number().int().describe('byte offset of the message to sign (to the end)'),
  token: tokenSymbolSchema,
  amount: decimalSchema,
});
export type UnsignedDepositResponse = z.infer<typeof unsignedDepositResponseSchema>;

/** `GET /v1/explorer/leases/{id}`: one lease with the settlement batches that paid for it. */
export const explorerLeaseDetailSchema = z.object({
  lease: z.object({
    id: z.string(),
    state: z.string(),
    gpuModel: z.string(),
    slots: z.number().int(),
    createdAt: z.number().int(),
    endedAt: z.number().int().nullable(),
    termsHash: z.string().nullable(),
    openAnchor: z.string().nullable().describe('signature of the memo transaction that anchored the terms'),
    closeAnchor: z.string().nullable(),
    reservedIo: decimalSchema.nullable(),
    chargedIo: decimalSchema.nullable(),
    refundIo: decimalSchema.nullable(),
  }),
  batches: z.array(
    z.object({
      id: z.string(),
      state: z.enum(['pending', 'paid']),
      memo: z.string(),
      signatures: z.array(z.string()),
      /** What this lease's records in the batch paid each supplier (net of fee). */
      payouts: z.array(z.object({ to: z.string(), amountIo: decimalSchema, seconds: z.number().int() })),
      leaseFeeIo: decimalSchema.describe("this lease's share of the batch's protocol fee"),
      batchBurnIo: decimalSchema.describe('burned by the whole batch (SPL burn, in its transactions)'),
    }),
  ),
});
export type ExplorerLeaseDetail = z.infer<typeof explorerLeaseDetailSchema>;

// ---- GET /v1/devices/{id}/rewards ------------------------------------------------------

export const deviceRewardsQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(24).describe('closed epochs to return, newest first'),
});
export type DeviceRewardsQuery = z.infer<typeof deviceRewardsQuerySchema>;

/** One closed epoch as one device saw it: what it was minted, and why no stipend when it got none. */
export const deviceEpochRewardSchema = z.object({
  epochIdx: z.number().int(),
  startMs: z.number().int(),
  endMs: z.number().int(),
  state: z.enum(['open', 'closed', 'minted']).describe('minted once the epoch\'s mint transactions landed'),
  stipendIo: decimalSchema.describe('base stipend (uptime × class weight × tier)'),
  bonusIo: decimalSchema.describe('usage bonus (served GPU-seconds × class weight × tier)'),
  totalIo: decimalSchema.describe('stipend + bonus'),
  tier: z.string(),
  stakeIo: decimalSchema.describe('active stake when the epoch closed'),
  verified: z.boolean(),
  uptimeSeconds: z.number().int(),
  servedGpuSeconds: z.number().int(),
  ineligible: z.array(z.string()).describe('why no stipend: unverified, under_staked, low_uptime'),
  signatures: z.array(z.string()).describe('the epoch\'s mint transactions'),
});
export type DeviceEpochReward = z.infer<typeof deviceEpochRewardSchema>;

export const deviceRewardsResponseSchema = z.object({
  deviceId: z.string(),
  epochSeconds: z.number().int(),
  stake: z
    .object({
      staker: z.string().nullable().describe('the wallet that staked; null when nobody did'),
      staked: decimalSchema,
      cooling: decimalSchema.describe('stake in unstake cooldown (still slashable)'),
      requirement: decimalSchema.nullable(),
      coveragePpm: z.number().int().describe('staked ÷ requirement in ppm, capped at 1,000,000'),
      covered: z.boolean(),
    })
    .nullable()
    .describe('null when this control plane has no stake vault (no ledger)'),
  rewards: z.array(deviceEpochRewardSchema).describe('closed epochs the device was part of, newest first'),
});
export type DeviceRewardsResponse = z.infer<typeof deviceRewardsResponseSchema>;
