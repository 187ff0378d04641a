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
