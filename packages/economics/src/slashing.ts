import { microIo, type MicroIo } from '@idlegrid/domain';
import type { Params } from './params.ts';
import { applyBps, assertBps, assertNonNegative } from './units.ts';

/**
 * Slashing (DESIGN "Economics"): abandoning a running lease (node lost, not released)
 * slashes `slash_abandon_bps` of the device's stake; a failed or forged verification
 * slashes `slash_fraud_bps`. Half goes to the affected buyer, half is burned.
 */

export type SlashReason = 'abandon' | 'fraud';

export interface Slash {
  /** ⌊stake × bps ÷ 10000⌋: never more than the parameter says. */
  readonly slashed: MicroIo;
  /** ⌊slashed ÷ 2⌋ to the affected buyer (0 when there is none). */
  readonly toBuyer: MicroIo;
  /** The rest: slashed − toBuyer. An odd base unit is burned, so nobody profits from it. */
  readonly burned: MicroIo;
  /** stake − slashed. */
  readonly remainingStake: MicroIo;
}

/** The bps a reason slashes under `params`. */
export function slashBps(reason: SlashReason, params: Pick<Params, 'slash_abandon_bps' | 'slash_fraud_bps'>): number {
  return reason === 'abandon' ? params.slash_abandon_bps : params.slash_fraud_bps;
}

/**
 * How much of `stake` a slash takes and where it goes. Exact: toBuyer + burned = slashed
 * and slashed + remainingStake = stake. With `affectedBuyer: false` (e.g. a failed
 * re-challenge while no lease ran) there is nobody to compensate and the whole amount is
 * burned: the treasury never earns from slashing, so the operator has no motive to slash.
 */
export function slash(
  stake: MicroIo,
  reason: SlashReason,
  params: Pick<Params, 'slash_abandon_bps' | 'slash_fraud_bps'>,
  options: { readonly affectedBuyer: boolean } = { affectedBuyer: true },
): Slash {
  assertNonNegative(stake, 'stake');
  const bps = slashBps(reason, params);
  assertBps(bps, `slash_${reason}_bps`);
  const slashed = applyBps(stake, bps);
  const toBuyer = options.affectedBuyer ? slashed / 2n : 0n;
  return {
    slashed: microIo(slashed),
    toBuyer: microIo(toBuyer),
    burned: microIo(slashed - toBuyer),
    remainingStake: microIo(stake - slashed),
  };
}
