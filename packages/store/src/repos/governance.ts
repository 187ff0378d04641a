import type { Selectable } from 'kysely';
import type { Address } from '@idlegrid/domain';
import { assertInteger, toBigint, toNumber, toNumberOrNull } from '../convert.ts';
import { guardRepo } from '../errors.ts';
import { inTransaction, type RepoContext } from '../repo-context.ts';
import type { GovProposalsTable, GovVotesTable, ParamChangesTable } from '../schema.ts';

export type ProposalOutcome = 'applied' | 'rejected';

export interface ProposalRecord {
  id: string;
  proposer: Address;
  param: string;
  /** The proposed value as `formatParam` writes it. */
  value: string;
  why: string | null;
  /** Σ active stake at the snapshot: the base of the quorum. */
  totalStakeIo: bigint;
  createdAtMs: number;
  votingEndsAtMs: number;
  timelockEndsAtMs: number;
  outcome: ProposalOutcome | null;
  closedAtMs: number | null;
}

export type NewProposal = Omit<ProposalRecord, 'outcome' | 'closedAtMs' | 'totalStakeIo'>;

export type VoteChoiceText = 'yes' | 'no';

export interface VoteRecord {
  proposalId: string;
  voter: Address;
  choice: VoteChoiceText;
  powerIo: bigint;
  signature: string;
  bodyHash: string;
  anchorSignature: string | null;
  atMs: number;
}

export interface ParamChangeRecord {
  id: number;
  name: string;
  oldValue: string;
  newValue: string;
  proposalId: string;
  epochIndex: number;
  appliedAtMs: number;
}

export interface GovernanceRepo {
  /** Records a proposal with its stake snapshot (one row per wallet with voting power), in one transaction. */
  createProposal(p: NewProposal, snapshot: ReadonlyArray<{ wallet: Address; powerIo: bigint }>): Promise<ProposalRecord>;
  proposal(id: string): Promise<ProposalRecord | null>;
  /** Newest first. */
  listProposals(options?: { limit?: number }): Promise<ProposalRecord[]>;
  /** The wallet's voting power at the proposal's snapshot (0 when it had no stake then). */
  power(proposalId: string, wallet: Address): Promise<bigint>;
  /** One vote per wallet and proposal: false (nothing changed) when the wallet already voted. */
  addVote(v: Omit<VoteRecord, 'anchorSignature'>): Promise<boolean>;
  votes(proposalId: string): Promise<VoteRecord[]>;
  /** Σ power of yes and no votes. */
  totals(proposalId: string): Promise<{ yes: bigint; no: bigint }>;
  /** Votes recorded but not anchored on chain yet, oldest first. */
  unanchoredVotes(limit: number): Promise<VoteRecord[]>;
  setVoteAnchor(proposalId: string, voter: Address, signature: string): Promise<void>;
  /** Open proposals (no outcome) whose timelock ended by `nowMs`, in the order they apply: timelock end, then creation. */
  undecided(nowMs: number): Promise<ProposalRecord[]>;
  /** Sets the outcome once; false when it was already set. */
  close(id: string, outcome: ProposalOutcome, atMs: number): Promise<boolean>;
  addParamChange(c: Omit<ParamChangeRecord, 'id'>): Promise<ParamChangeRecord>;
  /** The applied history, oldest first. */
  paramChanges(): Promise<ParamChangeRecord[]>;
}

export function governanceRepo(ctx: RepoContext): GovernanceRepo {
  const { db } = ctx;
  const proposal = async (id: string): Promise<ProposalRecord | null> => {
    const row = await db.selectFrom('gov_proposals').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? null : toProposal(row);
  };
  return guardRepo('governance', {
    async createProposal(p, snapshot) {
      const total = snapshot.reduce((sum, s) => sum + s.powerIo, 0n);
      await inTransaction(ctx, async (trx) => {
        await trx
          .insertInto('gov_proposals')
          .values({
            id: p.id, proposer: p.proposer, param: p.param, value: p.value, why: p.why, total_stake_io: total,
            created_at_ms: assertInteger('createdAtMs', p.createdAtMs),
            voting_ends_at_ms: assertInteger('votingEndsAtMs', p.votingEndsAtMs),
            timelock_ends_at_ms: assertInteger('timelockEndsAtMs', p.timelockEndsAtMs),
          })
          .execute();
        const rows = snapshot.filter((s) => s.powerIo > 0n).map((s) => ({ proposal_id: p.id, wallet: s.wallet, power_io: s.powerIo }));
        for (let i = 0; i < rows.length; i += 500) await trx.insertInto('gov_snapshots').values(rows.slice(i, i + 500)).execute();
      });
      return { ...p, totalStakeIo: total, outcome: null, closedAtMs: null };
    },
    proposal,
    async listProposals(options = {}) {
      const rows = await db
        .selectFrom('gov_proposals')
        .selectAll()
        .orderBy('created_at_ms', 'desc')
        .orderBy('id', 'desc')
        .limit(assertInteger('limit', options.limit ?? 100))
        .execute();
      return rows.map(toProposal);
    },
    async power(proposalId, wallet) {
      const row = await db.selectFrom('gov_snapshots').select('power_io').where('proposal_id', '=', proposalId).where('wallet', '=', wallet).executeTakeFirst();
      return row === undefined ? 0n : toBigint(row.power_io);
    },
    async addVote(v) {
      const row = await db
        .insertInto('gov_votes')
        .values({
          proposal_id: v.proposalId, voter: v.voter, choice: v.choice, power_io: v.powerIo, signature: v.signature, body_hash: v.bodyHash,
          at_ms: assertInteger('atMs', v.atMs),
        })
        .onConflict((oc) => oc.columns(['proposal_id', 'voter']).doNothing())
        .returning('voter')
        .executeTakeFirst();
      return row !== undefined;
    },
    async votes(proposalId) {
      const rows = await db.selectFrom('gov_votes').selectAll().where('proposal_id', '=', proposalId).orderBy('at_ms').orderBy('voter').execute();
      return rows.map(toVote);
    },
    async totals(proposalId) {
      const rows = await db
        .selectFrom('gov_votes')
        .select(['choice', (eb) => eb.fn.sum<bigint | number | string>('power_io').as('power')])
        .where('proposal_id', '=', proposalId)
        .groupBy('choice')
        .execute();
      const of = (choice: VoteChoiceText): bigint => {
        const r = rows.find((x) => x.choice === choice);
        return r === undefined || r.power === null ? 0n : toBigint(r.power);
      };
      return { yes: of('yes'), no: of('no') };
    },
    async unanchoredVotes(limit) {
      const rows = await db
        .selectFrom('gov_votes')
        .selectAll()
        .where('anchor_signature', 'is', null)
        .orderBy('at_ms')
        .orderBy('proposal_id')
        .orderBy('voter')
        .limit(assertInteger('limit', limit))
        .execute();
      return rows.map(toVote);
    },
    async setVoteAnchor(proposalId, voter, signature) {
      await db.updateTable('gov_votes').set({ anchor_signature: signature }).where('proposal_id', '=', proposalId).where('voter', '=', voter).execute();
    },
    async undecided(nowMs) {
      const rows = await db
        .selectFrom('gov_proposals')
        .selectAll()
        .where('outcome', 'is', null)
        .where('timelock_ends_at_ms', '<=', assertInteger('nowMs', nowMs))
        .orderBy('timelock_ends_at_ms')
        .orderBy('created_at_ms')
        .orderBy('id')
        .execute();
      return rows.map(toProposal);
    },
    async close(id, outcome, atMs) {
      const r = await db
        .updateTable('gov_proposals')
        .set({ outcome, closed_at_ms: assertInteger('atMs', atMs) })
        .where('id', '=', id)
        .where('outcome', 'is', null)
        .executeTakeFirst();
      return r.numUpdatedRows === 1n;
    },
    async addParamChange(c) {
      const row = await db
        .insertInto('param_changes')
        .values({
          name: c.name, old_value: c.oldValue, new_value: c.newValue, proposal_id: c.proposalId,
          epoch_index: assertInteger('epochIndex', c.epochIndex), applied_at_ms: assertInteger('appliedAtMs', c.appliedAtMs),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toChange(row);
    },
    async paramChanges() {
      const rows = await db.selectFrom('param_changes').selectAll().orderBy('id').execute();
      return rows.map(toChange);
    },
  });
}

function toProposal(row: Selectable<GovProposalsTable>): ProposalRecord {
  return {
    id: row.id,
    proposer: row.proposer as Address,
    param: row.param,
    value: row.value,
    why: row.why,
    totalStakeIo: toBigint(row.total_stake_io),
    createdAtMs: toNumber(row.created_at_ms),
    votingEndsAtMs: toNumber(row.voting_ends_at_ms),
    timelockEndsAtMs: toNumber(row.timelock_ends_at_ms),
    outcome: row.outcome as ProposalOutcome | null,
    closedAtMs: toNumberOrNull(row.closed_at_ms),
  };
}

function toVote(row: Selectable<GovVotesTable>): VoteRecord {
  return {
    proposalId: row.proposal_id,
    voter: row.voter as Address,
    choice: row.choice as VoteChoiceText,
    powerIo: toBigint(row.power_io),
    signature: row.signature,
    bodyHash: row.body_hash,
    anchorSignature: row.anchor_signature,
    atMs: toNumber(row.at_ms),
  };
}

function toChange(row: Selectable<ParamChangesTable>): ParamChangeRecord {
  return {
    id: toNumber(row.id),
    name: row.name,
    oldValue: row.old_value,
    newValue: row.new_value,
    proposalId: row.proposal_id,
    epochIndex: toNumber(row.epoch_index),
    appliedAtMs: toNumber(row.applied_at_ms),
  };
}
