import { z } from 'zod';
import { canonicalJson } from './canonical-json.ts';
import { addressSchema, base58SignatureSchema, decimalSchema, gpuModelSchema, ioAmountSchema } from './common.ts';

/**
 * Staking (`/v1/stake`) and governance (`/v1/governance/proposals`). Amounts are IO decimal
 * strings (6 decimals at most); times are unix ms.
 */

// ---- staking ---------------------------------------------------------------------------

export const createStakeRequestSchema = z.object({
  transaction: z
    .string()
    .min(1)
    .max(4096)
    .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'expected a base64 signed transaction')
    .describe('base64 wire transaction signed by the wallet: an SPL transfer of IO to the stake vault (see GET /v1/stake for its address)'),
  deviceId: addressSchema.describe('the device (its agent key) the stake is for'),
});

export const unstakeRequestSchema = z.object({
  deviceId: addressSchema,
  amount: ioAmountSchema.describe('IO to take out of the active stake; paid from the stake vault once the cooldown ends'),
});

export const unstakeViewSchema = z.object({
  id: z.string(),
  amount: decimalSchema.describe('what will be paid (a slash during the cooldown lowers it)'),
  requestedAt: z.number().int(),
  availableAt: z.number().int().describe('end of the cooldown'),
  state: z.enum(['cooling', 'due', 'paid']),
  signature: z.string().nullable().describe('the payout transfer, once sent'),
});

export const slashViewSchema = z.object({
  id: z.string(),
  reason: z.enum(['fraud', 'abandon']),
  bps: z.number().int(),
  amount: decimalSchema,
  toBuyer: decimalSchema,
  burned: decimalSchema,
  buyer: z.string().nullable().describe('the affected buyer; null when there was none (then all of it is burned)'),
  leaseId: z.string().nullable(),
  verificationId: z.string().nullable(),
  at: z.number().int(),
  signatures: z.array(z.string()).nullable().describe('the payment out of the stake vault; null until it landed'),
});

export const deviceStakeViewSchema = z.object({
  deviceId: z.string(),
  staker: z.string(),
  gpuModel: gpuModelSchema.nullable().describe('null when the device is not registered (no requirement known)'),
  gpuCount: z.number().int().nullable(),
  staked: decimalSchema.describe('active stake: counts for coverage, rewards and voting'),
  cooling: decimalSchema.describe('stake in unstake cooldown (still slashable)'),
  requirement: decimalSchema.nullable().describe('stake_per_gpu × class multiplier × GPUs, under the parameters in force'),
  coveragePpm: z.number().int().describe('staked ÷ requirement in ppm, capped at 1,000,000'),
  covered: z.boolean(),
  unstakes: z.array(unstakeViewSchema),
  slashes: z.array(slashViewSchema),
});

export const stakeResponseSchema = z.object({
  wallet: z.string(),
  stakeVault: z.string().describe('the IO token account stakes are sent to (custodial, owned by the protocol authority)'),
  mint: z.string().describe('the IO mint'),
  cooldownHours: z.number().int().describe('unstake_cooldown_hours in force'),
  devices: z.array(deviceStakeViewSchema),
});

export const createStakeResponseSchema = z.object({
  deposit: z.object({ signature: z.string(), amount: decimalSchema }),
  stake: deviceStakeViewSchema,
});

export const unstakeResponseSchema = z.object({
  unstake: unstakeViewSchema,
  stake: deviceStakeViewSchema,
});

export type UnstakeView = z.infer<typeof unstakeViewSchema>;
export type SlashView = z.infer<typeof slashViewSchema>;
export type DeviceStakeView = z.infer<typeof deviceStakeViewSchema>;
export type StakeResponse = z.infer<typeof stakeResponseSchema>;
export type CreateStakeResponse = z.infer<typeof createStakeResponseSchema>;
export type UnstakeResponse = z.infer<typeof unstakeResponseSchema>;

// ---- governance ------------------------------------------------------------------------

export const voteChoiceSchema = z.enum(['yes', 'no']);
export type VoteChoiceName = z.infer<typeof voteChoiceSchema>;

/** The canonical JSON a voter's wallet signs: `{"choice":…,"proposalId":…,"voter":…}`. */
export function voteSigningPayload(vote: { proposalId: string; choice: VoteChoiceName; voter: string }): string {
  return canonicalJson({ proposalId: vote.proposalId, choice: vote.choice, voter: vote.voter });
}

export const createProposalRequestSchema = z.object({
  param: z.string().min(1).max(64).describe('parameter name, e.g. protocol_fee_bps (GET /v1/params lists them)'),
  value: z.string().min(1).max(40).describe('new value as a person writes it: "300" for bps and hours, "250.5" for IO and USD'),
  why: z.string().max(500).optional(),
});

export const voteRequestSchema = z.object({
  choice: voteChoiceSchema,
  signature: base58SignatureSchema.describe('the wallet\'s ed25519 signature of voteSigningPayload({proposalId, choice, voter})'),
});

export const proposalIdParamsSchema = z.object({ id: z.string().min(1).max(64) });

export const proposalViewSchema = z.object({
  id: z.string(),
  proposer: z.string(),
  param: z.string(),
  value: z.string(),
  why: z.string().nullable(),
  createdAt: z.number().int(),
  votingEndsAt: z.number().int(),
  timelockEndsAt: z.number().int().describe('the first epoch close from then on applies it, if it passed'),
  status: z.enum(['voting', 'rejected', 'timelock', 'due', 'applied']),
  snapshotStake: decimalSchema.describe('total active stake when the proposal was made'),
  quorum: decimalSchema.describe('10 % of the snapshot stake'),
  yes: decimalSchema,
  no: decimalSchema,
  votes: z.number().int(),
});

export const proposalsResponseSchema = z.object({
  proposals: z.array(proposalViewSchema).describe('newest first'),
  votingSeconds: z.number().int(),
  timelockSeconds: z.number().int(),
});

export const proposalResponseSchema = z.object({ proposal: proposalViewSchema });

export const voteResponseSchema = z.object({
  vote: z.object({
    proposalId: z.string(),
    voter: z.string(),
    choice: voteChoiceSchema,
    power: decimalSchema.describe('the voter\'s active stake at the proposal\'s snapshot'),
    anchor: z.string().nullable().describe('the memo transaction `idlegrid:vote:<id>:<choice>:<sha256 of the signed body>`; null until it landed'),
  }),
  proposal: proposalViewSchema,
});

export type ProposalView = z.infer<typeof proposalViewSchema>;
export type ProposalsResponse = z.infer<typeof proposalsResponseSchema>;
export type ProposalResponse = z.infer<typeof proposalResponseSchema>;
export type VoteResponse = z.infer<typeof voteResponseSchema>;
