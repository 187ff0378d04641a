import { formatDecimal } from '@idlegrid/domain';
import {
  createProposalRequestSchema, proposalIdParamsSchema, proposalResponseSchema, proposalsResponseSchema, voteRequestSchema, voteResponseSchema,
} from '@idlegrid/protocol';
import { proposalView, type GovernanceService } from '../../economics/governance.ts';
import type { ApiRouter } from '../router.ts';

export interface GovernanceRouteDeps {
  governance: GovernanceService;
  votingSeconds: number;
  timelockSeconds: number;
}

/** Parameter governance: proposals (stakers only, within bounds), signed votes, tallies. */
export function addGovernanceRoutes(router: ApiRouter, deps: GovernanceRouteDeps): void {
  const { governance } = deps;

  router.add(
    {
      method: 'get',
      path: '/v1/governance/proposals',
      summary: 'Parameter change proposals, newest first, with their tally (quorum 10 % of the snapshot stake, more yes than no) and status',
      tag: 'governance',
      auth: false,
      response: proposalsResponseSchema,
    },
    async () => ({
      proposals: (await governance.list()).map(proposalView),
      votingSeconds: deps.votingSeconds,
      timelockSeconds: deps.timelockSeconds,
    }),
  );

  router.add(
    {
      method: 'post',
      path: '/v1/governance/proposals',
      summary: 'Propose a parameter change (you must have active stake; the value must lie within the parameter\'s bounds); stake is snapshotted now',
      tag: 'governance',
      auth: true,
      body: createProposalRequestSchema,
      response: proposalResponseSchema,
      status: 201,
    },
    async ({ body, c }) => {
      const proposal = await governance.propose({ proposer: c.get('wallet'), param: body.param, value: body.value, why: body.why });
      return { proposal: proposalView(await governance.state(proposal)) };
    },
  );

  router.add(
    {
      method: 'post',
      path: '/v1/governance/proposals/{id}/votes',
      summary: 'Vote yes or no, signed by your wallet over canonical JSON {proposalId, choice, voter}; one vote per wallet, weighted by your stake at the snapshot, anchored on chain',
      tag: 'governance',
      auth: true,
      params: proposalIdParamsSchema,
      body: voteRequestSchema,
      response: voteResponseSchema,
      status: 201,
    },
    async ({ params, body, c }) => {
      const { vote, state } = await governance.vote({ proposalId: params.id, voter: c.get('wallet'), choice: body.choice, signature: body.signature });
      return {
        vote: { proposalId: vote.proposalId, voter: vote.voter, choice: vote.choice, power: formatDecimal(vote.powerIo), anchor: vote.anchorSignature },
        proposal: proposalView(state),
      };
    },
  );
}
