import { z } from 'zod';
import { decimalSchema, ioAmountSchema } from './common.ts';

export const tokenSymbolSchema = z.enum(['IO', 'USDC']);

/** Where deposits go, and what a client needs to build one itself (`GET /v1/chain`). */
export const chainInfoResponseSchema = z.object({
  network: z.enum(['embedded', 'rpc']),
  authority: z.string(),
  decimals: z.literal(6),
  mints: z.object({ IO: z.string(), USDC: z.string() }),
  escrow: z.object({ IO: z.string(), USDC: z.string() }).describe('token accounts deposits are sent to (custodial escrow)'),
  recentBlockhash: z.string(),
  lastValidBlockHeight: z.string().describe('decimal string'),
  ioUsdReferencePrice: decimalSchema.describe('USD per IO used to convert USDC deposits'),
  usdcConversionFeeBps: z.number().int(),
});

export const depositSchema = z.object({
  signature: z.string(),
  wallet: z.string(),
  token: tokenSymbolSchema,
  amountPaid: decimalSchema.describe('of `token`'),
  ioCredited: decimalSchema,
  fee: decimalSchema.describe('conversion fee in IO (0 for IO deposits)'),
  at: z.number().int().describe('unix ms'),
});

export const walletResponseSchema = z.object({
  wallet: z.string(),
  network: z.enum(['embedded', 'rpc']),
  balances: z.object({ sol: z.string(), io: z.string(), usdc: z.string() }).describe('on-chain balances of the wallet, decimal strings'),
  escrow: z.object({ io: z.string() }).describe('IO held for this wallet in escrow (spendable on clusters)'),
  deposits: z.array(depositSchema).describe('the latest deposits, newest first'),
});

export const walletAirdropRequestSchema = z.object({
  sol: decimalSchema.optional().describe('default 1, at most 10'),
  io: decimalSchema.optional().describe('default 1000, at most 100000'),
  usdc: decimalSchema.optional().describe('default 1000, at most 100000'),
});

export const createDepositRequestSchema = z.object({
  transaction: z
    .string()
    .min(1)
    .max(4096)
    .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'expected a base64 signed transaction')
    .describe('base64 wire transaction signed by the wallet: an SPL transfer to the escrow of `token`'),
  token: tokenSymbolSchema.default('IO'),
});

export const createDepositResponseSchema = z.object({
  deposit: depositSchema,
  escrow: z.object({ io: z.string() }),
});

export const createWithdrawalRequestSchema = z.object({
  amount: ioAmountSchema.describe('IO to send back from your escrow balance to your wallet'),
});

export const createWithdrawalResponseSchema = z.object({
  withdrawal: z.object({ id: z.string(), wallet: z.string(), amountIo: decimalSchema, signature: z.string().nullable().describe('null when the transfer is still being sent (it will be, by the next settlement round)'), at: z.number().int() }),
  escrow: z.object({ io: z.string() }),
});

export type CreateWithdrawalResponse = z.infer<typeof createWithdrawalResponseSchema>;
export type ChainInfoResponse = z.infer<typeof chainInfoResponseSchema>;
export type WalletResponse = z.infer<typeof walletResponseSchema>;
export type DepositView = z.infer<typeof depositSchema>;
export type CreateDepositResponse = z.infer<typeof createDepositResponseSchema>;
