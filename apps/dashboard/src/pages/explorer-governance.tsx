import type { ParamsResponse, ProposalsResponse, ProposalView } from '@idlegrid/protocol';
import { request } from '../lib/api.ts';
import { duration, money, when } from '../lib/format.ts';
import { useAsync } from '../lib/use-async.ts';
import { CopyButton, Empty, ErrorNote, Loading, Mono, StateBadge } from '../components/ui.tsx';

/** Stakers' parameter proposals with their tallies; voting itself is signed by the wallet in the CLI. */
export function GovernanceTab() {
  const proposals = useAsync((signal) => request<ProposalsResponse>('GET', '/v1/governance/proposals', { signal }), [], 5000);
  const params = useAsync((signal) => request<ParamsResponse>('GET', '/v1/params', { signal }), [], 30_000);
  if (!proposals.data) return proposals.error ? <ErrorNote error={proposals.error} retry={proposals.reload} /> : <Loading what="proposals" />;
  const { votingSeconds, timelockSeconds } = proposals.data;
  const current = new Map((params.data?.params ?? []).map((p) => [p.name, p]));
  return (
    <>
      <p className="muted">
        Any staker proposes a change to a parameter within its bounds; voting power is the stake at the proposal&apos;s snapshot. Voting lasts {duration(votingSeconds)}; a proposal passes with a
        quorum of 10 % of that stake and more yes than no, then waits a timelock of {duration(timelockSeconds)} and applies at the next epoch close. Proposals and votes are signed by your wallet
        in the CLI:
      </p>
      <div className="copyline">
        <code>idlegrid gov propose --param NAME --value V --why TEXT</code>
      </div>
      {proposals.data.proposals.length === 0 ? <Empty>No proposals yet.</Empty> : null}
      {proposals.data.proposals.length > 0 ? (
        <table data-testid="proposals">
          <caption className="sr-only">Parameter proposals, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Proposal</th>
              <th scope="col">Change</th>
              <th scope="col">Status</th>
              <th scope="col">Tally (IO)</th>
              <th scope="col">Timeline</th>
              <th scope="col">Vote</th>
            </tr>
          </thead>
          <tbody>
            {proposals.data.proposals.map((p) => (
              <ProposalRow key={p.id} p={p} now={current.get(p.param)?.value ?? null} />
            ))}
          </tbody>
        </table>
      ) : null}
    </>
  );
}

function ProposalRow({ p, now }: { p: ProposalView; now: string | null }) {
  const quorumMet = Number(p.yes) + Number(p.no) >= Number(p.quorum);
  const vote = `idlegrid gov vote ${p.id} yes`;
  return (
    <tr>
      <td>
        <code>{p.id}</code>
        <div className="muted small">
          by <Mono value={p.proposer} /> · {when(p.createdAt)}
        </div>
      </td>
      <td>
        <code>{p.param}</code> → <strong>{p.value}</strong>
        {now !== null && p.status !== 'applied' ? <div className="muted small">now {now}</div> : null}
        {p.why ? <div className="muted small">“{p.why}”</div> : null}
      </td>
      <td>
        <StateBadge state={p.status} />
      </td>
      <td className="nowrap">
        yes {money(p.yes)} · no {money(p.no)}
        <div className={`small ${quorumMet ? 'ok' : 'muted'}`}>
          quorum {money(p.quorum)} {quorumMet ? 'met' : 'not met'} · {p.votes} vote{p.votes === 1 ? '' : 's'}
        </div>
      </td>
      <td className="small">
        voting until {when(p.votingEndsAt)}
        {p.status === 'rejected' ? null : <div className="muted">applies at the first epoch close after {when(p.timelockEndsAt)}</div>}
      </td>
      <td>
        {p.status === 'voting' ? (
          <div className="copyline small vote">
            <code>{vote}</code>
            <CopyButton text={vote} label={`Copy the command to vote on ${p.id}`} />
          </div>
        ) : (
          <span className="muted">closed</span>
        )}
      </td>
    </tr>
  );
}

/** The governable parameters in force (with their bounds and where the value comes from) and the applied changes. */
export function ParamsTab() {
  const params = useAsync((signal) => request<ParamsResponse>('GET', '/v1/params', { signal }), [], 10_000);
  if (!params.data) return params.error ? <ErrorNote error={params.error} retry={params.reload} /> : <Loading what="parameters" />;
  const { history } = params.data;
  return (
    <>
      <table data-testid="params">
        <caption className="sr-only">Parameters in force</caption>
        <thead>
          <tr>
            <th scope="col">Parameter</th>
            <th scope="col">In force</th>
            <th scope="col">Default</th>
            <th scope="col">Bounds</th>
            <th scope="col">Set by</th>
            <th scope="col">What it does</th>
          </tr>
        </thead>
        <tbody>
          {params.data.params.map((p) => (
            <tr key={p.name} className={p.source === 'governance' ? 'hl' : ''}>
              <td>
                <code>{p.name}</code>
              </td>
              <td className="nowrap">
                <strong>{p.value}</strong> <span className="muted small">{p.unit}</span>
                {p.inBounds ? null : <div className="warn small">outside its bounds</div>}
              </td>
              <td className="nowrap">{p.default}</td>
              <td className="nowrap">
                {p.min} – {p.max}
              </td>
              <td>
                <span className={`badge source-${p.source}`}>{p.source}</span>
              </td>
              <td className="small">{p.description}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Applied changes</h3>
      {history.length === 0 ? <Empty>No governance change applied yet: every value is the default or this control plane&apos;s configuration.</Empty> : null}
      {history.length > 0 ? (
        <table>
          <caption className="sr-only">Applied parameter changes, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Applied</th>
              <th scope="col">Parameter</th>
              <th scope="col">Change</th>
              <th scope="col">Proposal</th>
            </tr>
          </thead>
          <tbody>
            {[...history].reverse().map((c) => (
              <tr key={`${c.proposalId}-${c.name}`}>
                <td>
                  {when(c.appliedAt)} <span className="muted small">at the close of epoch #{c.epochIndex}</span>
                </td>
                <td>
                  <code>{c.name}</code>
                </td>
                <td>
                  {c.oldValue} → <strong>{c.newValue}</strong>
                </td>
                <td>
                  <code>{c.proposalId}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </>
  );
}
