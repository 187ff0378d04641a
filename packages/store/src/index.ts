export { openStore, type OpenStoreOptions } from './open-store.ts';
export type { Store } from './store.ts';
export type { StoreKind } from './repo-context.ts';
export type { JsonValue } from './json.ts';
export { isStoreConflict } from './errors.ts';
export { ADVISORY_LOCKS } from './advisory-locks.ts';
export { openPgChannel, pgLeaderLock, PG_NOTIFY_MAX_BYTES, type PgChannel, type PgChannelOptions, type PgLeaderLock } from './pg-coordination.ts';
export type {
  DeviceFilter, DeviceHello, DeviceListOptions, DeviceRecord, DeviceSeen, DeviceStanding, DeviceStatus,
  DevicesRepo, NetworkCoordinate,
} from './repos/devices.ts';
export type { ApiKeyRecord, ApiKeysRepo, NewApiKey } from './repos/api-keys.ts';
export type { AuthChallengeRecord, AuthChallengesRepo } from './repos/auth-challenges.ts';
export type { EventListOptions, EventRecord, EventsRepo, NewEvent } from './repos/events.ts';
export { ACTIVE_LEASE_STATES, ACTIVE_NODE_STATES, isWindingDown } from './repos/leases.ts';
export type {
  LeaseListOptions, LeaseNodePatch, LeaseNodeRecord, LeaseNodeRole, LeaseNodeState, LeaseNotice, LeasePatch, LeaseRecord,
  LeasesRepo, LeaseState, LeaseTopology, NewLease, NewLeaseNode, NodeSeen,
} from './repos/leases.ts';
export type { CreditResult, DepositRecord, DepositToken, WalletsRepo, WithdrawalRecord } from './repos/wallets.ts';
export type { AnchorKind, EscrowRepo, LeaseAccountRecord } from './repos/escrow.ts';
export type { NewSlash, SlashReasonText, SlashRecord, StakeAddRecord, StakeRecord, StakesRepo, UnstakeRecord } from './repos/stakes.ts';
export type {
  GovernanceRepo, NewProposal, ParamChangeRecord, ProposalOutcome, ProposalRecord, VoteChoiceText, VoteRecord,
} from './repos/governance.ts';
export type { DeviceReputation, EpochClose, EpochFigures, EpochRecord, EpochReward, EpochsRepo, EpochState, NodeOutcomes } from './repos/epochs.ts';
export type {
  DeviceSuspension, NewVerification, VerificationOutcome, VerificationRecord, VerificationsRepo, VerificationTally, VerificationVerdict,
} from './repos/verifications.ts';
export type { BatchState, DeviceEarnings, MeterRecord, NewBatch, SettlementBatchRecord, SettlementRepo, UsageReport } from './repos/settlement.ts';
