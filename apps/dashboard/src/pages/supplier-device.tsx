import type { DeviceDetail, DeviceRewardsResponse, VerificationStatus } from '@idlegrid/protocol';
import { getIfServed, request } from '../lib/api.ts';
import { duration, money, when } from '../lib/format.ts';
import { useAsync } from '../lib/use-async.ts';
import { BarChart } from '../components/bar-chart.tsx';
import { CopyButton, Empty, ErrorNote, Loading, Mono, Stat, StateBadge } from '../components/ui.tsx';
import { epochWindow, ineligibleText } from './explorer-emissions.tsx';

const EPOCHS = 24;

/** One device for its supplier: stake and coverage, reputation, proof-of-GPU history, epoch rewards per epoch and lease earnings. */
export function DeviceDetails({ id }: { id: string }) {
  const detail = useAsync((signal) => request<DeviceDetail>('GET', `/v1/devices/${id}`, { signal }), [id], 5000);
  const rewards = useAsync(
    (signal) => getIfServed<DeviceRewardsResponse>('/v1/devices/{id}/rewards', `/v1/devices/${id}/rewards?limit=${EPOCHS}`, signal),
    [id],
    5000,
  );
  const d = detail.data;
  if (!d) return detail.error ? <ErrorNote error={detail.error} retry={detail.reload} /> : <Loading what="the device" />;
  const r = rewards.data;
  const stake = r?.stake ?? null;
  const minted = (r?.rewards ?? []).reduce((s, x) => s + Number(x.totalIo), 0);
  const v = d.verification;
  return (
    <div className="card" data-testid="device-details">
      <h2>
        Device <Mono value={d.id} /> <StateBadge state={d.status} />
      </h2>
      <div className="stats">
        <Stat label="Hardware" value={`${d.slots} × ${d.gpuModel}`} hint={d.hardware.gpus.map((g) => g.name).join(', ') || `${d.hardware.cpu.cores} CPU cores, ${Math.round(d.hardware.memoryBytes / 2 ** 30)} GiB`} />
        <Stat label="Tier" value={d.tier} hint={`reputation ${d.reputation} / 1000`} />
        <Stat label="Proof of GPU" value={<StateBadge state={v.status} />} hint={`${v.passed} passed, ${v.failed} failed`} />
        <Stat
          label="Stake"
          value={stake ? `${money(stake.staked)} IO` : '—'}
          hint={stake ? (stake.requirement === null ? 'requirement unknown' : `of ${money(stake.requirement)} IO required · ${(stake.coveragePpm / 10_000).toFixed(0)} % covered`) : 'no stake vault on this control plane'}
        />
        <Stat label="Rewards minted" value={r ? `${money(minted.toFixed(6))} IO` : '…'} hint={r ? `stipend + bonus, last ${r.rewards.length} epochs` : undefined} />
        <Stat label="Lease earnings (paid)" value={`${money(d.earnings.paidIo, 6)} IO`} hint={`${money(d.earnings.pendingIo, 6)} IO pending · ${d.earnings.gpuSeconds.toLocaleString('en-US')} GPU-s billed · fee ${money(d.earnings.feeIo, 6)} IO`} />
      </div>
      <p className="muted">
        Pays out to <Mono value={d.payout} /> · agent {d.agentVersion} · first seen {when(d.firstSeenAt)}
      </p>
      {stake && !stake.covered && stake.requirement !== null ? <StakeHint id={d.id} need={stake.requirement} staked={stake.staked} /> : null}
      <h3>Earnings per epoch</h3>
      <ErrorNote error={rewards.error} retry={rewards.reload} />
      {r ? <EpochEarnings r={r} /> : rewards.data === null ? <Empty>Epoch rewards are not published by this control plane.</Empty> : <Loading what="rewards" />}
      <h3>Proof-of-GPU history</h3>
      <Verifications v={v} />
    </div>
  );
}

function StakeHint({ id, need, staked }: { id: string; need: string; staked: string }) {
  const missing = Math.max(0, Number(need) - Number(staked));
  const line = `idlegrid stake add --amount ${Number.isInteger(missing) ? missing : missing.toFixed(6)} --device ${id}`;
  return (
    <div className="note warn">
      This device is under-staked ({money(staked)} of {money(need)} IO): it earns no stipend and no usage bonus until its stake covers the requirement. Stake from the CLI with your wallet:
      <div className="copyline">
        <code>{line}</code>
        <CopyButton text={line} label="Copy the stake command" />
      </div>
    </div>
  );
}

function EpochEarnings({ r }: { r: DeviceRewardsResponse }) {
  if (r.rewards.length === 0) {
    return <Empty>No epoch has closed since this device joined: its first reward shows when the current epoch ends (epochs last {duration(r.epochSeconds)}).</Empty>;
  }
  const oldestFirst = [...r.rewards].reverse();
  const points = oldestFirst.map((e) => ({ label: `#${e.epochIdx}`, values: [Number(e.stipendIo), Number(e.bonusIo)] }));
  return (
    <>
      <BarChart title="IO earned per epoch" points={points} series={['stipend', 'usage bonus']} unit="IO" />
      <table className="compact" data-testid="device-epochs">
        <caption className="sr-only">Rewards per epoch, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Epoch</th>
            <th scope="col">Stipend (IO)</th>
            <th scope="col">Bonus (IO)</th>
            <th scope="col">Tier</th>
            <th scope="col">Stake (IO)</th>
            <th scope="col">Uptime / served</th>
            <th scope="col">No stipend because</th>
            <th scope="col">Mint transaction</th>
          </tr>
        </thead>
        <tbody>
          {r.rewards.slice(0, 8).map((e) => (
            <tr key={e.epochIdx}>
              <td className="nowrap">
                <strong>#{e.epochIdx}</strong> <span className="muted small">{epochWindow(e)}</span>
              </td>
              <td className="num">{money(e.stipendIo, 6)}</td>
              <td className="num">{money(e.bonusIo, 6)}</td>
              <td>{e.tier}</td>
              <td className="num">{money(e.stakeIo)}</td>
              <td className="nowrap">
                {duration(e.uptimeSeconds)} / {e.servedGpuSeconds.toLocaleString('en-US')} GPU-s
              </td>
              <td>{e.ineligible.length === 0 ? <span className="ok">eligible</span> : <span className="warn">{ineligibleText(e.ineligible)}</span>}</td>
              <td>{Number(e.totalIo) === 0 ? <span className="muted">nothing to mint</span> : e.signatures[0] ? <Mono value={e.signatures[0]} /> : <span className="muted">minting…</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function Verifications({ v }: { v: VerificationStatus }) {
  return (
    <>
      {v.suspended ? (
        <div className="note error">
          Suspended {when(v.suspended.at)}: {v.suspended.reason}. A suspended device is never placed again.
        </div>
      ) : null}
      {v.recent.length === 0 ? <Empty>No proof-of-GPU challenge yet: the control plane challenges a device when it connects and at random times.</Empty> : null}
      {v.recent.length > 0 ? (
        <table className="compact" data-testid="verifications">
          <caption className="sr-only">Proof-of-GPU challenges, newest first</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Claimed</th>
              <th scope="col">Matrix</th>
              <th scope="col">Compute time</th>
              <th scope="col">Round trip</th>
              <th scope="col">Verdict</th>
            </tr>
          </thead>
          <tbody>
            {v.recent.map((c) => (
              <tr key={c.id}>
                <td className="nowrap">{when(c.at)}</td>
                <td>{c.gpuModel}</td>
                <td className="nowrap">
                  {c.n} × {c.n}
                </td>
                <td className="nowrap">
                  {c.elapsedMs === null ? '—' : `${Math.round(c.elapsedMs)} ms`}
                  {c.limitMs === null ? null : <span className="muted small"> (limit {Math.round(c.limitMs)} ms)</span>}
                </td>
                <td className="nowrap">{c.roundTripMs === null ? '—' : `${c.roundTripMs} ms`}</td>
                <td>
                  <StateBadge state={c.verdict} />
                  {c.reason ? <span className="muted small"> {c.reason}</span> : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </>
  );
}
