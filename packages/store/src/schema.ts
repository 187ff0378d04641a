import type { ColumnType, Generated } from 'kysely';

/**
 * The Kysely view of the database. Column names are snake_case as in SQL; repositories
 * map rows to camelCase records. Add a table here when a migration adds it.
 */

/**
 * What the drivers hand back for an integer column: SQLite (opened with safe integers)
 * gives bigint, PostgreSQL gives a string for BIGINT and a number for INTEGER. Repositories
 * convert with `toNumber`/`toBigint` from convert.ts, so no precision is lost.
 */
export type DbInt = bigint | number | string;
/** An integer column (timestamps in ms, counts, money in base units). */
export type IntColumn = ColumnType<DbInt, bigint | number, bigint | number>;
export type NullableIntColumn = ColumnType<DbInt | null, bigint | number | null, bigint | number | null>;
/** An integer column with a default value in the table definition. */
export type DefaultedIntColumn = ColumnType<DbInt, bigint | number | undefined, bigint | number>;
/** A double precision column. */
export type FloatColumn = ColumnType<number | null, number | null, number | null>;
/** An auto-increment id: INTEGER PRIMARY KEY AUTOINCREMENT on SQLite, BIGSERIAL on PostgreSQL. */
export type SerialColumn = Generated<DbInt>;

export interface DevicesTable {
  id: string;
  /** JSON text: the hardware report as the agent sent it. */
  hardware: string;
  gpu_model: string;
  gpu_count: IntColumn;
  region: string;
  /** MicroUsd per GPU-hour. */
  price_per_gpu_hour: IntColumn;
  payout: string;
  agent_version: string;
  /** 'online' | 'offline' */
  status: string;
  first_seen_ms: IntColumn;
  last_seen_ms: IntColumn;
  /** Start of the current (or last) connection. */
  connected_at_ms: NullableIntColumn;
  /** When the device was last marked offline. */
  disconnected_at_ms: NullableIntColumn;
  /** Milliseconds online, accumulated whenever a connection ends. */
  online_ms_total: DefaultedIntColumn;
  coord_x: FloatColumn;
  coord_y: FloatColumn;
  coord_h: FloatColumn;
  /** JSON text: the load the last heartbeat reported. */
  load: string | null;
  /** 0 or 1 (an integer in both dialects, so SQL reads the same). */
  verified: DefaultedIntColumn;
  tier: ColumnType<string, string | undefined, string>;
  reputation: DefaultedIntColumn;
}

export interface ApiKeysTable {
  id: string;
  wallet: string;
  key_hash: string;
  label: string | null;
  created_at_ms: IntColumn;
  last_used_at_ms: NullableIntColumn;
  revoked_at_ms: NullableIntColumn;
}

export interface AuthChallengesTable {
  nonce: string;
  wallet: string;
  expires_at_ms: IntColumn;
}

export interface EventsTable {
  seq: SerialColumn;
  kind: string;
  subject: string;
  /** JSON text. */
  data: string;
  at_ms: IntColumn;
}

export interface LeasesTable {
  id: string;
  buyer: string;
  name: string | null;
  /** 'requested' | 'allocating' | 'provisioning' | 'ready' | 'degraded' | 'releasing' | 'ended' | 'failed' */
  state: string;
  gpu_model: string;
  slots: IntColumn;
  /** 'tight' | 'spread' */
  topology: string;
  /** JSON text: the validated request. */
  request: string;
  /** MicroUsd per hour for the whole lease. */
  price_per_hour: IntColumn;
  ray_token: string;
  head_device_id: string | null;
  created_at_ms: IntColumn;
  ready_at_ms: NullableIntColumn;
  expires_at_ms: IntColumn;
  ended_at_ms: NullableIntColumn;
  failure_reason: string | null;
  /** JSON text: Array<{ atMs, text }>. */
  notices: ColumnType<string, string | undefined, string>;
  /** Optimistic concurrency: 1 on insert, +1 on every update. */
  version: IntColumn;
}

export interface LeaseNodesTable {
  id: SerialColumn;
  lease_id: string;
  device_id: string;
  /** 'head' | 'worker' */
  role: string;
  slots: IntColumn;
  /** MicroUsd per GPU-hour, fixed at booking. */
  price_per_gpu_hour: IntColumn;
  /** 'assigned' | 'starting' | 'joined' | 'lost' | 'released' | 'failed' */
  state: string;
  ray_node_id: string | null;
  /** JSON text, or NULL. */
  endpoint: string | null;
  assigned_at_ms: IntColumn;
  joined_at_ms: NullableIntColumn;
  last_seen_ms: NullableIntColumn;
  ended_at_ms: NullableIntColumn;
  end_reason: string | null;
  /** Metered up to here (ms); NULL until the first meter record. */
  billed_until_ms: ColumnType<DbInt | null, bigint | number | null | undefined, bigint | number | null>;
}

export interface WalletBalancesTable {
  wallet: string;
  /** IO base units held in escrow for this wallet. */
  escrow_io: IntColumn;
  updated_at_ms: IntColumn;
}

export interface DepositsTable {
  /** The deposit transaction's signature (base58). */
  signature: string;
  wallet: string;
  /** 'IO' | 'USDC' */
  token: string;
  /** Base units of `token` paid into escrow. */
  amount_paid: IntColumn;
  /** IO base units credited to the wallet's escrow balance. */
  io_credited: IntColumn;
  /** Conversion fee, in IO base units (0 for IO deposits). */
  fee: IntColumn;
  at_ms: IntColumn;
  /** USDC deposits: the transaction that moved the USDC to treasury and minted the IO credit into escrow. */
  conversion_signature: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface LeaseAccountsTable {
  lease_id: string;
  buyer: string;
  /** IO base units moved from the buyer's balance to this lease (deploy + extends). */
  reserved_io: IntColumn;
  /** Σ gross of the lease's meter records. */
  charged_io: DefaultedIntColumn;
  /** sha256 hex of the lease's terms (anchored on chain). */
  terms_hash: string;
  open_anchor: string | null;
  close_anchor: string | null;
  /** reserved − charged, fixed when the lease is closed out; NULL before. */
  refund_io: NullableIntColumn;
  refund_signature: string | null;
  closed_at_ms: NullableIntColumn;
}

export interface LeaseUsageTable {
  lease_id: string;
  device_id: string;
  /** The agent's signed cumulative GPU-seconds for this lease (latest heartbeat). */
  reported_seconds: number;
  at_ms: IntColumn;
}

export interface SettlementBatchesTable {
  id: string;
  cutoff_ms: IntColumn;
  /** 'pending' (recorded, maybe partly sent) | 'paid' */
  state: string;
  /** hex sha256 Merkle root over the batch's meter records. */
  merkle_root: string;
  memo: string;
  records: IntColumn;
  gross_io: IntColumn;
  fee_io: IntColumn;
  burn_io: IntColumn;
  treasury_io: IntColumn;
  /** JSON text: string[] of payment transaction signatures, once paid. */
  signatures: string | null;
  created_at_ms: IntColumn;
  paid_at_ms: NullableIntColumn;
}

export interface MeterRecordsTable {
  batch_id: string;
  /** Position in the batch: the Merkle leaf index. */
  idx: IntColumn;
  lease_id: string;
  node_id: IntColumn;
  device_id: string;
  payout: string;
  from_ms: IntColumn;
  to_ms: IntColumn;
  seconds: IntColumn;
  slots: IntColumn;
  price_per_gpu_hour: IntColumn;
  gross_io: IntColumn;
  fee_io: IntColumn;
}

export interface WithdrawalsTable {
  id: string;
  wallet: string;
  amount_io: IntColumn;
  /** The transfer from escrow to the wallet, once it landed. */
  signature: string | null;
  at_ms: IntColumn;
}

export interface ChainIdempotencyTable {
  key: string;
  /** JSON text: the ledger's IdempotencyEntry. */
  entry: string;
}

// ---- verification tables (0006) ----

export interface VerificationsTable {
  id: string;
  device_id: string;
  /** The model and slot count the device claimed when challenged. */
  gpu_model: string;
  gpu_count: IntColumn;
  n: IntColumn;
  /** 64 hex digits. */
  seed: string;
  issued_at_ms: IntColumn;
  /** Milliseconds the device had to answer. */
  deadline_ms: IntColumn;
  answered_at_ms: NullableIntColumn;
  /** The product time the agent reported. */
  elapsed_ms: FloatColumn;
  /** Sent to answer received, as the server saw it. */
  round_trip_ms: NullableIntColumn;
  /** The slowest reported time that passes for the claimed model. */
  limit_ms: FloatColumn;
  /** 'pending' | 'passed' | 'failed' | 'cancelled' */
  verdict: ColumnType<string, string | undefined, string>;
  /** Why it failed or was cancelled (a VerificationReason). */
  reason: string | null;
  detail: string | null;
}

export interface DeviceSuspensionsTable {
  device_id: string;
  verification_id: string;
  reason: string;
  at_ms: IntColumn;
}

// ---- staking and governance tables (0007) ----

export interface StakesTable {
  device_id: string;
  /** The wallet that staked the device (one staker per device). */
  staker: string;
  /** Active stake in IO base units: not in cooldown, counts for coverage and voting power. */
  amount_io: IntColumn;
  updated_at_ms: IntColumn;
}

export interface StakeMovementsTable {
  id: string;
  device_id: string;
  staker: string;
  /** 'add' | 'unstake' */
  kind: string;
  /** IO base units; an unstake's amount shrinks when a slash takes from it during its cooldown. */
  amount_io: IntColumn;
  /** add: the staker's transfer to the stake vault (unique). */
  deposit_signature: string | null;
  requested_at_ms: IntColumn;
  /** unstake: end of the cooldown; paid from then on. */
  available_at_ms: NullableIntColumn;
  /** unstake: the transfer from the stake vault, once landed. */
  payout_signature: string | null;
}

export interface StakeSlashesTable {
  id: string;
  device_id: string;
  staker: string;
  /** 'fraud' | 'abandon' */
  reason: string;
  bps: number;
  /** The device's stake (active + in cooldown) the slash was taken from. */
  stake_io: IntColumn;
  amount_io: IntColumn;
  /** The affected buyer, or NULL (then the whole amount is burned). */
  buyer: string | null;
  buyer_io: IntColumn;
  burned_io: IntColumn;
  lease_id: string | null;
  verification_id: string | null;
  at_ms: IntColumn;
  /** JSON text: string[] of the payment's transaction signatures, once paid. */
  signatures: string | null;
  paid_at_ms: NullableIntColumn;
}

export interface GovProposalsTable {
  id: string;
  proposer: string;
  param: string;
  /** The proposed value as `formatParam` writes it ("250", "1.25"). */
  value: string;
  why: string | null;
  /** Σ active stake at the snapshot (the quorum's base). */
  total_stake_io: IntColumn;
  created_at_ms: IntColumn;
  voting_ends_at_ms: IntColumn;
  timelock_ends_at_ms: IntColumn;
  /** NULL while open; 'applied' | 'rejected' once an epoch close decided it. */
  outcome: string | null;
  closed_at_ms: NullableIntColumn;
}

export interface GovSnapshotsTable {
  proposal_id: string;
  wallet: string;
  /** The wallet's active stake when the proposal was made: its voting power. */
  power_io: IntColumn;
}

export interface GovVotesTable {
  proposal_id: string;
  voter: string;
  /** 'yes' | 'no' */
  choice: string;
  power_io: IntColumn;
  /** base58 ed25519 signature of the canonical JSON {proposalId, choice, voter}. */
  signature: string;
  /** sha256 hex of that canonical JSON (anchored in the vote memo). */
  body_hash: string;
  anchor_signature: string | null;
  at_ms: IntColumn;
}

export interface ParamChangesTable {
  id: SerialColumn;
  name: string;
  old_value: string;
  new_value: string;
  proposal_id: string;
  epoch_index: IntColumn;
  applied_at_ms: IntColumn;
}

// ---- epoch tables (0008) ----

export interface EpochsTable {
  idx: IntColumn;
  start_ms: IntColumn;
  end_ms: IntColumn;
  /** 'open' | 'closed' (rewards recorded) | 'minted' */
  state: string;
  served_gpu_seconds: DefaultedIntColumn;
  available_gpu_seconds: DefaultedIntColumn;
  utilization_bps: DefaultedIntColumn;
  emission_io: DefaultedIntColumn;
  stipend_pool_io: DefaultedIntColumn;
  usage_pool_io: DefaultedIntColumn;
  treasury_io: DefaultedIntColumn;
  /** JSON text: the parameters in force during the epoch (bigints as decimal strings). */
  params: string | null;
  merkle_root: string | null;
  memo: string | null;
  /** JSON text: string[] of mint transaction signatures, once minted. */
  signatures: string | null;
  closed_at_ms: NullableIntColumn;
  minted_at_ms: NullableIntColumn;
}

export interface EpochRewardsTable {
  epoch_idx: IntColumn;
  device_id: string;
  /** Merkle leaf index in the epoch. */
  idx: IntColumn;
  payout: string;
  gpu_model: string;
  gpus: IntColumn;
  verified: IntColumn;
  stake_io: IntColumn;
  uptime_seconds: IntColumn;
  served_gpu_seconds: IntColumn;
  tier: string;
  stipend_io: IntColumn;
  bonus_io: IntColumn;
  /** JSON text: the reasons the device got no stipend (empty array when eligible). */
  ineligible: string;
}

export interface DeviceReputationTable {
  device_id: string;
  /** The device's total online milliseconds when its last epoch closed. */
  online_ms_mark: IntColumn;
  uptime_ewma_ppm: IntColumn;
  epochs_observed: IntColumn;
  updated_epoch: IntColumn;
}

export interface Database {
  devices: DevicesTable;
  api_keys: ApiKeysTable;
  auth_challenges: AuthChallengesTable;
  events: EventsTable;
  leases: LeasesTable;
  lease_nodes: LeaseNodesTable;
  wallet_balances: WalletBalancesTable;
  deposits: DepositsTable;
  lease_accounts: LeaseAccountsTable;
  lease_usage: LeaseUsageTable;
  settlement_batches: SettlementBatchesTable;
  meter_records: MeterRecordsTable;
  chain_idempotency: ChainIdempotencyTable;
  withdrawals: WithdrawalsTable;
  // verification (0006)
  verifications: VerificationsTable;
  device_suspensions: DeviceSuspensionsTable;
  // staking and governance (0007)
  stakes: StakesTable;
  stake_movements: StakeMovementsTable;
  stake_slashes: StakeSlashesTable;
  gov_proposals: GovProposalsTable;
  gov_snapshots: GovSnapshotsTable;
  gov_votes: GovVotesTable;
  param_changes: ParamChangesTable;
  // epochs (0008)
  epochs: EpochsTable;
  epoch_rewards: EpochRewardsTable;
  device_reputation: DeviceReputationTable;
}
