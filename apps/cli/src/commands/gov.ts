import type { Command } from 'commander';
import { IdlegridError } from '@idlegrid/domain';
import {
  readKeypairFile, signBytes, voteSigningPayload,
  type ProposalResponse, type ProposalsResponse, type ProposalView, type VoteChoiceName, type VoteResponse,
} from '@idlegrid/protocol';
import { CloudClient } from '../cloud-client.ts';
import { resolveCloudUrl, walletPath } from '../home.ts';
import { emit, table, type GlobalOptions } from '../output.ts';

/**
 * `idlegrid gov propose|vote|list`: parameter governance. Proposing needs active stake; a vote is
 * signed here with the wallet keypair (canonical JSON {proposalId, choice, voter}) and weighted
 * by the wallet's stake when the proposal was made.
 */
export function addGovCommands(program: Command, globals: () => GlobalOptions): void {
  const gov = program.command('gov').description('Governance: propose parameter changes (stakers), vote with your stake, list proposals');

  gov
    .command('propose')
    .description('Propose a new value for a governable parameter (see `GET /v1/params` for names and bounds)')
    .requiredOption('--param <name>', 'parameter, e.g. protocol_fee_bps')
    .requiredOption('--value <v>', 'new value: an integer for bps and hours, a decimal for IO and USD (e.g. 250.5)')
    .option('--why <text>', 'a reason shown with the proposal')
    .action(async (opts: { param: string; value: string; why?: string }) => {
      const g = globals();
      const client = new CloudClient(await resolveCloudUrl(g.cloud, process.env), process.env);
      const res = await client.post<ProposalResponse>('/v1/governance/proposals', { param: opts.param, value: opts.value, ...(opts.why ? { why: opts.why } : {}) }, true);
      const p = res.proposal;
      emit(g, res, () =>
        `Proposal ${p.id}: ${p.param} → ${p.value}. Voting until ${iso(p.votingEndsAt)}; vote with \`idlegrid gov vote ${p.id} yes\` (quorum ${p.quorum} IO of ${p.snapshotStake} IO staked).`,
      );
    });

  gov
    .command('vote')
    .description('Vote yes or no on a proposal, signed with your wallet')
    .argument('<id>', 'proposal id (see `idlegrid gov list`)')
    .argument('<choice>', 'yes or no')
    .action(async (id: string, choice: string) => {
      const g = globals();
      if (choice !== 'yes' && choice !== 'no') {
        throw new IdlegridError('VALIDATION_FAILED', { where: 'vote', issues: [{ path: 'choice', message: `expected yes or no, got ${JSON.stringify(choice)}` }] });
      }
      const client = new CloudClient(await resolveCloudUrl(g.cloud, process.env), process.env);
      const path = walletPath(process.env);
      const wallet = await readKeypairFile(path).catch((e: unknown) => {
        throw new IdlegridError('KEYPAIR_INVALID', { path, reason: 'no wallet yet; votes are signed by the wallet that staked (`idlegrid wallet new`, `idlegrid stake add`)' }, { cause: e });
      });
      const c: VoteChoiceName = choice;
      const signature = signBytes(wallet, voteSigningPayload({ proposalId: id, choice: c, voter: wallet.address }));
      const res = await client.post<VoteResponse>(`/v1/governance/proposals/${encodeURIComponent(id)}/votes`, { choice: c, signature }, true);
      const p = res.proposal;
      emit(g, res, () =>
        [
          `Voted ${res.vote.choice} on ${p.id} with ${res.vote.power} IO${res.vote.anchor ? ` (anchored in ${res.vote.anchor})` : ' (anchor pending)'}.`,
          `Tally: yes ${p.yes} IO, no ${p.no} IO, quorum ${p.quorum} IO; status ${p.status}.`,
        ].join('\n'),
      );
    });

  gov
    .command('list')
    .description('Proposals, newest first, with their tally and status')
    .action(async () => {
      const g = globals();
      const client = new CloudClient(await resolveCloudUrl(g.cloud, process.env), process.env);
      const res = await client.get<ProposalsResponse>('/v1/governance/proposals');
      emit(g, res, () => renderProposals(res.proposals));
    });
}

const iso = (ms: number): string => new Date(ms).toISOString();

function renderProposals(proposals: readonly ProposalView[]): string {
  if (proposals.length === 0) return 'No proposals yet. Stakers propose with `idlegrid gov propose --param NAME --value V`.';
  return table(
    ['ID', 'PARAM', 'VALUE', 'STATUS', 'YES', 'NO', 'QUORUM', 'VOTING ENDS', 'APPLIES FROM'],
    proposals.map((p) => [p.id, p.param, p.value, p.status, p.yes, p.no, p.quorum, iso(p.votingEndsAt), iso(p.timelockEndsAt)]),
  );
}
