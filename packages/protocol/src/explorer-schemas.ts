import { z } from 'zod';
import { decimalSchema } from './common.ts';

/** Paging for the public explorer: `cursor` = the `next` of the previous page. */
export const explorerQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(120).optional().describe('the `next` of the previous page'),
});

export const explorerBatchSchema = z.object({
  id: z.string().describe('settlement batch id (stl-<cut-off ms>)'),
  cutoffMs: z.number().int(),
  state: z.enum(['pending', 'paid']),
  memo: z.string().describe('idlegrid:settle:<batch>:<Merkle root>, carried by every payment transaction'),
  merkleRoot: z.string(),
  records: z.number().int(),
  grossIo: decimalSchema,
  feeIo: decimalSchema,
  burnIo: decimalSchema,
  treasuryIo: decimalSchema,
  signatures: z.array(z.string()),
});

export const explorerPayoutsResponseSchema = z.object({
  batches: z.array(explorerBatchSchema.extend({ payouts: z.array(z.object({ to: z.string(), amountIo: decimalSchema, seconds: z.number().int() })) })),
  next: z.string().nullable().describe('pass as `cursor` for the next page; null at the end'),
});

export const explorerBurnsResponseSchema = z.object({
  burns: z.array(z.object({ batch: z.string(), cutoffMs: z.number().int(), burnIo: decimalSchema, signatures: z.array(z.string()) })),
  totalBurnedIo: decimalSchema.describe('Σ burns on this page'),
  next: z.string().nullable(),
});

export const explorerLeasesResponseSchema = z.object({
  leases: z.array(
    z.object({
      id: z.string(),
      state: z.string(),
      gpuModel: z.string(),
      slots: z.number().int(),
      createdAt: z.number().int(),
      endedAt: z.number().int().nullable(),
      termsHash: z.string().nullable(),
      openAnchor: z.string().nullable(),
      closeAnchor: z.string().nullable(),
      reservedIo: decimalSchema.nullable(),
      chargedIo: decimalSchema.nullable(),
      refundIo: decimalSchema.nullable(),
    }),
  ),
  next: z.string().nullable(),
});

export type ExplorerPayoutsResponse = z.infer<typeof explorerPayoutsResponseSchema>;
