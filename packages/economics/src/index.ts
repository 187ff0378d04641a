/**
 * @idlegrid/economics — pure token economics: governable parameters, emissions, reward
 * splits, reputation, slashing, the proof-of-GPU arithmetic and a supplier estimator.
 * No I/O: nothing reads the clock, the environment or the network; randomness comes in
 * as a RandomSource. Money is bigint base units, shares are integer basis points / ppm.
 */

/** Exact helpers: basis points, ppm, ratios. */
export { applyBps, BPS_DENOMINATOR, ceilDiv, PPM, ratioPpm } from './units.ts';

/** Exact pro-rata split with an explicit remainder. */
export { prorate, type Prorated } from './prorate.ts';

/** The one table of governable parameters, its defaults and bounds checks. */
export {
  applyChange, assertParam, checkParam, DEFAULT_PARAMS, formatParam, isParamName, PARAM_NAMES, PARAM_SPECS, parseParamValue,
  validateParams, type ParamCheck, type ParamKind, type ParamName, type Params, type ParamSpec,
} from './params.ts';

/** Reward classes and their weights, tier multipliers, stake requirements. */
export {
  CLASS_WEIGHT_X10, classWeightX10, MODEL_CLASS, stakeRequirement, TIER_MULTIPLIER_X100, tierMultiplierX100, type RewardClass,
} from './classes.ts';

/** Emission per epoch from utilization. */
export { emissionAtUtilizationBps, epochEmission, utilizationOf, type Emission, type EpochUsage, type Utilization } from './emission.ts';

/** Splitting an epoch's emission into stipends, usage bonuses and treasury. */
export {
  bonusWeight, ineligibility, MIN_UPTIME_BPS, splitEpochRewards, stipendWeight,
  type DeviceReward, type EpochRewards, type IneligibleReason, type RewardDevice, type RewardEpoch,
} from './rewards.ts';

/** Reputation score, tiers and the uptime EWMA. */
export {
  REPUTATION_WEIGHTS, reputationScore, stakeRatioPpm, TIER_THRESHOLDS, tierForScore, updateUptimeEwma, UPTIME_EWMA_WINDOW_SECONDS,
  uptimeObservationPpm, type ReputationInputs,
} from './reputation.ts';

/** Slashing amounts and where they go. */
export { slash, slashBps, type Slash, type SlashReason } from './slashing.ts';

/** Proof of GPU: seeded matrices, the cpu-class product, row checksums, Freivalds' checks. */
export {
  DEFAULT_SPOT_ROWS, deriveChallengeMatrices, FIELD_PRIME, freivaldsCheck, MAX_CHALLENGE_N, multiplyMod, multiplyVector,
  parseChallengeSeed, productRow, rowChecksums, SEED_BYTES, sketchVector, solveChallenge, verifyRowChecksums,
  type ChallengeFailure, type ChallengeMatrices, type ChallengeVerdict, type SquareMatrix,
} from './freivalds.ts';

/** Proof of GPU: the timing check against each model's expected rate. */
export {
  checkTiming, EXPECTED_OPS_PER_SECOND, expectedMultiplyMs, RECOMMENDED_CHALLENGE_N, recommendedChallengeN,
  type TimingOptions, type TimingVerdict,
} from './timing.ts';

/** Expected daily earnings of a supplier. */
export { estimateSupplier, type NetworkFigures, type SupplierEstimate, type SupplierSetup } from './estimator.ts';

/** Governance: tally with quorum, proposal status. */
export { proposalStatus, QUORUM_BPS, tally, type ProposalStatus, type Tally, type TallyInput, type VoteChoice } from './governance.ts';
