import { z } from 'zod';
import { gpuModelSchema } from './common.ts';

/** One proof-of-GPU challenge as GET /v1/devices/{id} shows it. */
export const verificationEntrySchema = z.object({
  id: z.string(),
  at: z.number().int().describe('when the challenge was sent (ms since the epoch)'),
  gpuModel: gpuModelSchema.describe('the model the device claimed'),
  n: z.number().int().describe('matrix size: 2·n³ operations'),
  elapsedMs: z.number().nullable().describe('product time the device reported'),
  roundTripMs: z.number().int().nullable().describe('challenge sent → answer received, by the server'),
  limitMs: z.number().nullable().describe('slowest product time that passes for the claimed model'),
  verdict: z.enum(['pending', 'passed', 'failed', 'cancelled']),
  reason: z.string().nullable().describe('why it failed or was cancelled: count, malformed, freivalds, spot_check, too_slow, round_trip, deadline, disconnected…'),
  detail: z.string().nullable(),
});
export type VerificationEntry = z.infer<typeof verificationEntrySchema>;

/** A device's proof-of-GPU standing: status, verdict counts (reputation's pass ratio) and recent challenges. */
export const verificationStatusSchema = z.object({
  status: z
    .enum(['verified', 'pending', 'unverified', 'suspended'])
    .describe('verified: passed and in supply; pending: a challenge is out; unverified: not (yet) challenged on this hardware; suspended: failed, never placed again'),
  suspended: z.object({ at: z.number().int(), reason: z.string(), verificationId: z.string() }).nullable(),
  passed: z.number().int(),
  failed: z.number().int(),
  /** passed ÷ (passed + failed); null before the first verdict. */
  passRatio: z.number().nullable(),
  recent: z.array(verificationEntrySchema).describe('newest first'),
});
export type VerificationStatus = z.infer<typeof verificationStatusSchema>;
