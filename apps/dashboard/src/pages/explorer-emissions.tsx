import { Fragment, useState } from 'react';
import type { EmissionsResponse, EpochRewardView, EpochsResponse, EpochView } from '@idlegrid/protocol';
import { request } from '../lib/api.ts';
import { duration, money, when } from '../lib/format.ts';
import { useAsync } from '../lib/use-async.ts';
import { BarChart } from '../components/bar-chart.tsx';
import { Empty, ErrorNote, Loading, Mono, MonoList, StateBadge } from '../components/ui.tsx';

const EPOCHS = 24;

/** What an ineligibility code means, as a supplier would say it. */
export const INELIGIBLE: Record<string, string> = {
  unverified: 'not verified',
  under_staked: 'under-staked',
  low_uptime: 'uptime under 50 %',
};

export function ineligibleText(reasons: readonly string[]): string {
  return reasons.map((r) => INELIGIBLE[r] ?? r).join(', ');
}

/** The epoch's time window: times of day for short epochs, with the date for long ones. */
export function epochWindow(e: { startMs: number; endMs: number }): string {
  const short = e.endMs - e.startMs < 3_600_000;
  const t = (ms: number) => new Date(ms).toLocaleTimeString('en-GB');
  return short ? `${t(e.startMs)}–${t(e.endMs)}` : `${when(e.startMs)} – ${when(e.endMs)}`;
}

const sum = (rewards: readonly EpochRewardView[], pick: (r: EpochRewardView) => string) => rewards.reduce((s, r) => s + Number(pick(r)), 0);

/**
 * Reward epochs: what each emitted (utilization-linked), how it was split into stipends, usage
 * bonuses and the treasury remainder, the mint transactions and memo, and per device what it
 * got and why not.
 */
export function EmissionsTab() {
  const epochs = useAsync((signal) => request<EpochsResponse>('GET', `/v1/explorer/epochs?limit=${EPOCHS}`, { signal }), [], 5000);
  const emissions = useAsync((signal) => request<EmissionsResponse>('GET', `/v1/explorer/emissions?limit=${EPOCHS}`, { signal }), [], 5000);
  const [opened, setOpened] = useState<number | null>(null);
  if (!epochs.data) return epochs.error ? <ErrorNote error={epochs.error} retry={epochs.reload} /> : <Loading what="epochs" />;
  const rewards = new Map((emissions.data?.epochs ?? []).map((e) => [e.idx, e.rewards]));
  const list = epochs.data.epochs;
  const closed = list.filter((e) => e.state !== 'open');
  // The newest closed epoch is open by default, so its devices show without a click.
  const expanded = opened ?? closed[0]?.idx ?? null;
  const points = [...closed].reverse().map((e) => {
    const r = rewards.get(e.idx) ?? [];
    return { label: `#${e.idx}`, values: [sum(r, (x) => x.stipendIo), sum(r, (x) => x.bonusIo), Number(e.treasuryIo)] };
  });
  return (
    <>
      <p className="muted">
        An epoch lasts {duration(epochs.data.epochSeconds)}. Its emission grows with utilization (served ÷ available GPU-seconds); the stipend pool goes to eligible devices by
        uptime, the usage pool by GPU-seconds served, and what nobody qualified for is minted to the treasury. Each closed epoch is minted in transactions carrying its memo.
      </p>
      {points.length > 0 ? <BarChart title="IO emitted per epoch" points={points} series={['stipends', 'usage bonuses', 'treasury']} unit="IO" /> : null}
      <ErrorNote error={emissions.error} retry={emissions.reload} />
      {list.length === 0 ? <Empty>No epoch yet: the first opens when the control plane starts.</Empty> : null}
      {list.length > 0 ? (
        <div className="table-wrap">
          <table data-testid="epochs">
            <caption className="sr-only">Reward epochs, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Epoch</th>
                <th scope="col">State</th>
                <th scope="col">Utilization</th>
                <th scope="col">Emission (IO)</th>
                <th scope="col">Memo</th>
                <th scope="col">Mint transactions</th>
                <th scope="col">Devices</th>
              </tr>
            </thead>
            <tbody>
              {list.map((e) => (
                <Fragment key={e.idx}>
                  <EpochRow e={e} rewards={rewards.get(e.idx)} expanded={expanded === e.idx} toggle={() => setOpened(expanded === e.idx ? -1 : e.idx)} />
                  {expanded === e.idx && rewards.get(e.idx) ? (
                    <tr className="sub">
                      <td colSpan={7}>
                        <Rewards rewards={rewards.get(e.idx) ?? []} idx={e.idx} />
                      </td>
                    </tr>
                  ) : null}
                </Fragment>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}

function EpochRow({ e, rewards, expanded, toggle }: { e: EpochView; rewards: EpochRewardView[] | undefined; expanded: boolean; toggle: () => void }) {
  const open = e.state === 'open';
  return (
    <tr data-testid="epoch-row" data-state={e.state} className={expanded ? 'hl' : ''}>
      <td className="nowrap">
        <strong>#{e.idx}</strong>
        <div className="muted small">{epochWindow(e)}</div>
      </td>
      <td>
        <StateBadge state={e.state} />
      </td>
      <td className="nowrap">
        {open ? '—' : `${(e.utilizationBps / 100).toFixed(1)} %`}
        {open ? null : <div className="muted small">{e.servedGpuSeconds.toLocaleString('en-US')} of {e.availableGpuSeconds.toLocaleString('en-US')} GPU-s</div>}
      </td>
      <td>
        {open ? '—' : <strong>{money(e.emissionIo)}</strong>}
        {open ? null : (
          <div className="muted small">
            stipend pool {money(e.stipendPoolIo)} · usage pool {money(e.usagePoolIo)}
            <br />
            to treasury {money(e.treasuryIo, 6)}
          </div>
        )}
      </td>
      <td className="clip memo" title={e.memo ?? undefined}>
        {e.memo ? <code>{e.memo}</code> : <span className="muted">{open ? 'when it closes' : '—'}</span>}
      </td>
      <td className="mint">
        {e.signatures.length === 0 ? <span className="muted">{open ? '—' : 'minting…'}</span> : null}
        <MonoList values={e.signatures} />
      </td>
      <td>
        {rewards ? (
          <button type="button" className="secondary small" onClick={toggle} aria-expanded={expanded}>
            {rewards.length} {expanded ? '▴' : '▾'}
          </button>
        ) : (
          <span className="muted">—</span>
        )}
      </td>
    </tr>
  );
}

function Rewards({ rewards, idx }: { rewards: EpochRewardView[]; idx: number }) {
  if (rewards.length === 0) return <Empty>No device was online in epoch #{idx}: the whole emission went to the treasury.</Empty>;
  return (
    <table className="inner" data-testid="epoch-rewards">
      <caption>What each device was minted in epoch #{idx}</caption>
      <thead>
        <tr>
          <th scope="col">Device</th>
          <th scope="col">Hardware</th>
          <th scope="col">Tier</th>
          <th scope="col">Stake (IO)</th>
          <th scope="col">Uptime / served</th>
          <th scope="col">Stipend (IO)</th>
          <th scope="col">Bonus (IO)</th>
          <th scope="col">No stipend because</th>
        </tr>
      </thead>
      <tbody>
        {rewards.map((r) => (
          <tr key={r.deviceId}>
            <td>
              <Mono value={r.deviceId} />
              {r.payout === r.deviceId ? null : (
                <div className="muted small">
                  pays to <Mono value={r.payout} />
                </div>
              )}
            </td>
            <td className="nowrap">
              {r.gpus} × {r.gpuModel}
            </td>
            <td>{r.tier}</td>
            <td className="num">{money(r.stakeIo)}</td>
            <td className="nowrap">
              {duration(r.uptimeSeconds)} / {r.servedGpuSeconds.toLocaleString('en-US')} GPU-s
            </td>
            <td className="num">{money(r.stipendIo, 6)}</td>
            <td className="num">{money(r.bonusIo, 6)}</td>
            <td>{r.ineligible.length === 0 ? <span className="ok">eligible</span> : <span className="warn">{ineligibleText(r.ineligible)}</span>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
