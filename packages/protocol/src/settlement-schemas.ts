import { z } from 'zod';
import { addressSchema, decimalSchema } from './common.ts';

const merkleStepSchema = z.object({ side: z.enum(['left', 'right']), hash: z.string() });

export const auditCheckSchema = z.object({
  name: z.string().describe('what was checked, e.g. "batch stl-… transaction 1 pays what the store says"'),
  ok: z.boolean(),
  detail: z.string().optional(),
});

export const auditRecordSchema = z.object({
  batch: z.string(),
  idx: z.number().int(),
  nodeId: z.number().int(),
  deviceId: addressSchema,
  payout: addressSchema,
  fromMs: z.number().int(),
  toMs: z.number().int(),
  seconds: z.number().int(),
  slots: z.number().int(),
  pricePerGpuHour: decimalSchema.describe('USD per GPU-hour'),
  grossIo: decimalSchema,
  feeIo: decimalSchema,
  leafHash: z.string(),
  proof: z.array(merkleStepSchema).describe('sibling path from leafHash to the batch root in the memo'),
});

export const auditResponseSchema = z.object({
  lease: z.string(),
  buyer: addressSchema,
  state: z.string(),
  network: z.enum(['embedded', 'rpc']),
  devices: z.array(
    z.object({
      deviceId: addressSchema,
      payout: addressSchema.nullable(),
      nodes: z.array(z.object({ nodeId: z.number().int(), role: z.string(), joinedAt: z.number().nullable(), endedAt: z.number().nullable(), endReason: z.string().nullable() })),
      billedSeconds: z.number().int(),
      grossIo: decimalSchema,
      feeIo: decimalSchema,
      paidIo: decimalSchema.describe('gross − fee: what the supplier received for this lease'),
    }),
  ),
  money: z.object({
    reservedIo: decimalSchema,
    chargedIo: decimalSchema,
    feeIo: decimalSchema,
    paidToSuppliersIo: decimalSchema,
    refundIo: decimalSchema.nullable().describe('null until the lease is closed out'),
  }),
  batches: z.array(
    z.object({
      id: z.string(),
      state: z.enum(['pending', 'paid']),
      memo: z.string(),
      merkleRoot: z.string(),
      signatures: z.array(z.string()),
      feeIo: decimalSchema.describe('the whole batch (all leases in it)'),
      burnIo: decimalSchema,
      treasuryIo: decimalSchema,
    }),
  ),
  records: z.array(auditRecordSchema),
  transactions: z.array(z.object({ kind: z.enum(['lease-open', 'lease-close', 'settle', 'refund']), signature: z.string(), memo: z.string().nullable(), ok: z.boolean() })),
  checks: z.array(auditCheckSchema),
  settled: z.boolean().describe('the lease ended, every second is paid and the refund is sent'),
  consistent: z.boolean().describe('every check passed: the store and the chain agree'),
});
export type AuditResponse = z.infer<typeof auditResponseSchema>;
