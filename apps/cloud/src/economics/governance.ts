import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Ledger } from '@idlegrid/chain';
import { formatDecimal, IdlegridError, isIdlegridError, type Address, type Clock } from '@idlegrid/domain';
import {
  applyChange, checkParam, formatParam, isParamName, parseParamValue, proposalStatus, tally, type ProposalStatus, type Tally, type VoteChoice,
} from '@idlegrid/economics';
import { verifyBytes, voteSigningPayload, type ProposalView } from '@idlegrid/protocol';
import type { ParamChangeRecord, ProposalRecord, Store, VoteRecord } from '@idlegrid/store';
import { ChainTasks, sha256Hex, type CrashHook } from '../settlement/chain-tasks.ts';
import { replayChanges, type ParamBook } from './param-book.ts';

/**
 * Parameter governance (DESIGN "Economics"): a staker proposes a change within the parameter
 * bounds; the stake of every wallet is snapshotted then and is its voting power; votes are
 * signed by the voter's wallet over canonical JSON {proposalId, choice, voter}, recorded (one
 * per wallet) and anchored on chain with a memo `idlegrid:vote:<id>:<choice>:<sha256 of the
 * signed body>`; after voting (`govVotingSeconds`) and the timelock (`govTimelockSeconds`) the
 * next epoch close applies a passed proposal (`applyDue`) into `param_changes`.
 */

export interface GovernanceDeps {
  store: Store;
  clock: Clock;
  book: ParamBook;
  logger: Logger;
  /** Vote anchors go here; without a ledger votes are recorded but not anchored. */
  ledger?: Ledger | null;
  votingSeconds: number;
  timelockSeconds: number;
  crash?: CrashHook;
  /** Whether this control plane may send anchors now (default: always); on a follower replica the leader's round anchors the vote. */
  leading?: () => boolean;
}

export const voteMemo = (proposalId: string, choice: VoteChoice, bodyHash: string): string => `idlegrid:vote:${proposalId}:${choice}:${bodyHash}`;

export interface ProposalState {
  proposal: ProposalRecord;
  tally: Tally;
  votes: number;
  status: ProposalStatus;
}

export class GovernanceService {
  private readonly tasks: ChainTasks | null;

  constructor(private readonly d: GovernanceDeps) {
    this.tasks = d.ledger ? new ChainTasks({ store: d.store, ledger: d.ledger, logger: d.logger, ...(d.crash ? { crash: d.crash } : {}) }) : null;
  }

  /** Records a proposal and the stake snapshot its votes count with. */
  async propose(input: { proposer: Address; param: string; value: string; why?: string | undefined }): Promise<ProposalRecord> {
    const { store, clock } = this.d;
    const { param } = input;
    if (!isParamName(param)) throw new IdlegridError('GOV_PARAM_INVALID', { param, reason: checkReason(param, undefined) });
    let value: number | bigint;
    try {
      value = parseParamValue(param, input.value);
    } catch (error) {
      if (!isIdlegridError(error)) throw error;
      throw new IdlegridError('GOV_PARAM_INVALID', { param, reason: `cannot read ${JSON.stringify(input.value)}: ${error.message}` });
    }
    const check = checkParam(param, value);
    if (!check.ok) throw new IdlegridError('GOV_PARAM_INVALID', { param, reason: check.reason });
    const snapshot = await store.stakes.activeByStaker();
    if (!snapshot.some((s) => s.wallet === input.proposer)) throw new IdlegridError('GOV_NOT_STAKER', { wallet: input.proposer });
    const nowMs = clock.now();
    const votingEndsAtMs = nowMs + this.d.votingSeconds * 1000;
    return store.governance.createProposal({
      id: `gp_${randomBytes(8).toString('hex')}`, proposer: input.proposer, param, value: formatParam(param, value), why: input.why ?? null,
      createdAtMs: nowMs, votingEndsAtMs, timelockEndsAtMs: votingEndsAtMs + this.d.timelockSeconds * 1000,
    }, snapshot.map((s) => ({ wallet: s.wallet, powerIo: s.amountIo })));
  }

  /**
   * A signed vote: checked (open, signature, power at the snapshot, first vote of the wallet),
   * recorded, then anchored (a failed anchor is left for `round()`).
   */
  async vote(input: { proposalId: string; voter: Address; choice: VoteChoice; signature: string }): Promise<{ vote: VoteRecord; state: ProposalState }> {
    const { store, clock } = this.d;
    const proposal = await store.governance.proposal(input.proposalId);
    if (proposal === null) throw new IdlegridError('NOT_FOUND', { resource: 'proposal', id: input.proposalId });
    const nowMs = clock.now();
    if (nowMs >= proposal.votingEndsAtMs) throw new IdlegridError('GOV_VOTING_CLOSED', { id: proposal.id, endedAt: new Date(proposal.votingEndsAtMs).toISOString() });
    const body = voteSigningPayload({ proposalId: proposal.id, choice: input.choice, voter: input.voter });
    if (!verifyBytes(input.voter, body, input.signature)) throw new IdlegridError('BAD_SIGNATURE', { signer: input.voter });
    const power = await store.governance.power(proposal.id, input.voter);
    if (power === 0n) throw new IdlegridError('GOV_NO_VOTING_POWER', { id: proposal.id, voter: input.voter });
    const recorded: Omit<VoteRecord, 'anchorSignature'> = {
      proposalId: proposal.id, voter: input.voter, choice: input.choice, powerIo: power, signature: input.signature, bodyHash: sha256Hex(body), atMs: nowMs,
    };
    if (!(await store.governance.addVote(recorded))) throw new IdlegridError('GOV_ALREADY_VOTED', { id: proposal.id, voter: input.voter });
    this.d.crash?.('vote.recorded');
    let anchorSignature: string | null = null;
    try {
      if (this.d.leading?.() !== false) anchorSignature = await this.anchor(recorded);
    } catch (error) {
      this.d.logger.warn({ err: error, proposal: proposal.id, voter: input.voter }, 'vote recorded; its anchor is left for the next round');
    }
    return { vote: { ...recorded, anchorSignature }, state: await this.state(proposal, nowMs) };
  }

  /** Anchors votes recorded without an anchor (after a crash or a chain failure); returns how many. */
  async round(): Promise<number> {
    let anchored = 0;
    for (const v of await this.d.store.governance.unanchoredVotes(100)) {
      try {
        if ((await this.anchor(v)) !== null) anchored++;
      } catch (error) {
        this.d.logger.warn({ err: error, proposal: v.proposalId, voter: v.voter }, 'vote anchor failed; retried next round');
      }
    }
    return anchored;
  }

  /**
   * Decides every open proposal whose timelock ended by `nowMs`: a passed one is applied —
   * recorded in `param_changes` with the old and new value and `epochIndex` — a failed one is
   * closed as rejected. Runs in the caller's transaction (`store`: the epoch close's); returns
   * the applied changes. Call `book.load(store)` after that transaction commits.
   */
  async applyDue(input: { nowMs: number; epochIndex: number; store: Store }): Promise<ParamChangeRecord[]> {
    const { nowMs, epochIndex, store } = input;
    const applied: ParamChangeRecord[] = [];
    for (const p of await store.governance.undecided(nowMs)) {
      const result = tally({ ...(await store.governance.totals(p.id)), totalStake: p.totalStakeIo });
      if (!result.passed) {
        await store.governance.close(p.id, 'rejected', nowMs);
        continue;
      }
      const params = replayChanges(this.d.book.base, await store.governance.paramChanges());
      if (!isParamName(p.param)) throw new Error(`proposal ${p.id} names unknown parameter ${p.param}`);
      const value = parseParamValue(p.param, p.value);
      applyChange(params, p.param, value);
      if (!(await store.governance.close(p.id, 'applied', nowMs))) continue;
      applied.push(await store.governance.addParamChange({
        name: p.param, oldValue: formatParam(p.param, params[p.param]), newValue: p.value, proposalId: p.id, epochIndex, appliedAtMs: nowMs,
      }));
    }
    return applied;
  }

  async state(proposal: ProposalRecord, nowMs = this.d.clock.now()): Promise<ProposalState> {
    const [totals, votes] = await Promise.all([this.d.store.governance.totals(proposal.id), this.d.store.governance.votes(proposal.id)]);
    const t = tally({ ...totals, totalStake: proposal.totalStakeIo });
    const status = proposal.outcome === 'rejected'
      ? 'rejected'
      : proposalStatus({ ...proposal, appliedAtMs: proposal.outcome === 'applied' ? proposal.closedAtMs : null }, t, nowMs);
    return { proposal, tally: t, votes: votes.length, status };
  }

  async list(limit = 100): Promise<ProposalState[]> {
    const nowMs = this.d.clock.now();
    return Promise.all((await this.d.store.governance.listProposals({ limit })).map((p) => this.state(p, nowMs)));
  }

  private async anchor(v: Omit<VoteRecord, 'anchorSignature'>): Promise<string | null> {
    if (this.tasks === null) return null;
    const signature = await this.tasks.anchorOnce(voteMemo(v.proposalId, v.choice, v.bodyHash));
    await this.d.store.governance.setVoteAnchor(v.proposalId, v.voter, signature);
    return signature;
  }
}

export function proposalView(s: ProposalState): ProposalView {
  const p = s.proposal;
  return {
    id: p.id, proposer: p.proposer, param: p.param, value: p.value, why: p.why, createdAt: p.createdAtMs, votingEndsAt: p.votingEndsAtMs,
    timelockEndsAt: p.timelockEndsAtMs, status: s.status, snapshotStake: formatDecimal(p.totalStakeIo), quorum: formatDecimal(s.tally.quorum),
    yes: formatDecimal(s.tally.yes), no: formatDecimal(s.tally.no), votes: s.votes,
  };
}

function checkReason(name: string, value: unknown): string {
  const check = checkParam(name, value);
  return check.ok ? 'ok' : check.reason;
}
