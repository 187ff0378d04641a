import { z } from 'zod';
import { decimalSchema } from './common.ts';
import { tokenSymbolSchema } from './wallet-schemas.ts';

/**
 * A deposit for a wallet that signs elsewhere (the dashboard signs in the browser with WebCrypto):
 * the server builds the SPL transfer to escrow, the wallet signs `message` and puts its signature
 * at `signatureOffset` of the wire bytes, then relays it with POST /v1/wallet/deposits.
 */
export const unsignedDepositRequestSchema = z.object({
  token: tokenSymbolSchema.default('IO'),
  amount: decimalSchema.describe('amount of `token` to deposit, e.g. "25" or "12.5"'),
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
