import { BPS_DENOMINATOR_N } from './units.ts';

/**
 * Governance arithmetic (DESIGN "Economics"): voting power is staked IO at the proposal's
 * snapshot; quorum is 10 % of the total stake at that snapshot; a proposal passes with more
 * yes than no once quorum is met; it applies at the first epoch after its timelock.
 */

/** Quorum: 10 % of the stake at the snapshot, in basis points. */
export const QUORUM_BPS = 1_000;

export type VoteChoice = 'yes' | 'no';

export interface TallyInput {
  /** Σ voting power of yes votes (IO base units). */
  readonly yes: bigint;
  readonly no: bigint;
  /** Total stake at the proposal's snapshot. */
  readonly totalStake: bigint;
}

export interface Tally {
  readonly yes: bigint;
  readonly no: bigint;
  readonly totalStake: bigint;
  /** Voting power needed to reach quorum: ⌈total × 10 %⌉ (at least 1, so a zero-stake snapshot never passes). */
  readonly quorum: bigint;
  readonly turnout: bigint;
  readonly quorumMet: boolean;
  /** Quorum met and yes > no. */
  readonly passed: boolean;
}

export function tally(input: TallyInput): Tally {
  const { yes, no, totalStake } = input;
  if (yes < 0n || no < 0n || totalStake < 0n) throw new RangeError('tally: amounts must be non-negative');
  const scaled = totalStake * BigInt(QUORUM_BPS);
  const quorum = scaled === 0n ? 1n : (scaled + BPS_DENOMINATOR_N - 1n) / BPS_DENOMINATOR_N;
  const turnout = yes + no;
  const quorumMet = turnout >= quorum;
  return { yes, no, totalStake, quorum, turnout, quorumMet, passed: quorumMet && yes > no };
}

/**
 * Where a proposal stands at `nowMs`:
 * - `voting` until `votingEndsAtMs` (exclusive);
 * - then `rejected` (no quorum, or not more yes than no), or `timelock` until `timelockEndsAtMs`,
 *   then `due` (waiting for the next epoch close to apply it);
 * - `applied` once recorded in the applied history (`appliedAtMs` set).
 */
export type ProposalStatus = 'voting' | 'rejected' | 'timelock' | 'due' | 'applied';

export function proposalStatus(
  p: { readonly votingEndsAtMs: number; readonly timelockEndsAtMs: number; readonly appliedAtMs: number | null },
  result: Tally,
  nowMs: number,
): ProposalStatus {
  if (p.appliedAtMs !== null) return 'applied';
  if (nowMs < p.votingEndsAtMs) return 'voting';
  if (!result.passed) return 'rejected';
  return nowMs < p.timelockEndsAtMs ? 'timelock' : 'due';
}
