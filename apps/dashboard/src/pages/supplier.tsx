import { useState } from 'react';
import type { DeviceDetail, DeviceView, ExplorerPayoutsResponse } from '@idlegrid/protocol';
import { getIfServed, request } from '../lib/api.ts';
import { duration, money, usd, when } from '../lib/format.ts';
import { useSession } from '../lib/session.tsx';
import { useAsync } from '../lib/use-async.ts';
import { BarChart } from '../components/bar-chart.tsx';
import { Empty, ErrorNote, Loading, Mono, Stat, StateBadge } from '../components/ui.tsx';

/** Reward epochs are an hour long by default (DESIGN, Economics). */
const EPOCH_MS = 3_600_000;

/** Suppliers: devices with hardware, tier, uptime, stake, verification history and earnings per epoch. */
export function SupplierPage() {
  const session = useSession();
  const [mine, setMine] = useState(false);
  const devices = useAsync((signal) => request<{ devices: DeviceView[] }>('GET', '/v1/devices?limit=200', { signal }), [], 5000);
  const [open, setOpen] = useState<string | null>(null);
  const list = (devices.data?.devices ?? []).filter((d) => !mine || d.payout === session.wallet);
  return (
    <section>
      <h1>Supply</h1>
      <p className="lead">The devices of this network. A supplier runs <code>idlegrid worker start</code>; earnings are paid to the payout address.</p>
      {session.wallet ? (
        <label className="check">
          <input type="checkbox" checked={mine} onChange={(e) => setMine(e.target.checked)} /> Only devices paying out to my wallet
        </label>
      ) : null}
      {devices.loading && !devices.data ? <Loading what="devices" /> : null}
      <ErrorNote error={devices.error} retry={devices.reload} />
      {devices.data && list.length === 0 ? <Empty>{mine ? 'No device pays out to your wallet.' : 'No devices have joined this network yet.'}</Empty> : null}
      {list.length > 0 ? (
        <table>
          <caption className="sr-only">Devices</caption>
          <thead>
            <tr>
              <th scope="col">Device</th>
              <th scope="col">Status</th>
              <th scope="col">Hardware</th>
              <th scope="col">Region</th>
              <th scope="col">Tier</th>
              <th scope="col">Verified</th>
              <th scope="col">Uptime</th>
              <th scope="col">$/GPU-h</th>
              <th scope="col" />
            </tr>
          </thead>
          <tbody>
            {list.map((d) => (
              <tr key={d.id} className={open === d.id ? 'hl' : ''}>
                <td>
                  <Mono value={d.id} />
                </td>
                <td>
                  <StateBadge state={d.status} />
                </td>
                <td>
                  {d.slots} × {d.gpuModel} · {d.freeSlots} free
                </td>
                <td>{d.region}</td>
                <td>{d.tier}</td>
                <td>{d.verified ? 'yes' : 'not yet'}</td>
                <td>{d.status === 'online' ? duration((Date.now() - d.firstSeenAt) / 1000) : `last seen ${when(d.lastSeenAt)}`}</td>
                <td>{usd(d.pricePerGpuHour)}</td>
                <td>
                  <button type="button" className="secondary small" onClick={() => setOpen(open === d.id ? null : d.id)} aria-expanded={open === d.id}>
                    {open === d.id ? 'Close' : 'Details'}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {open ? <DeviceDetails id={open} /> : null}
    </section>
  );
}

function DeviceDetails({ id }: { id: string }) {
  const detail = useAsync((signal) => request<DeviceDetail>('GET', `/v1/devices/${id}`, { signal }), [id], 10_000);
  const payouts = useAsync((signal) => request<ExplorerPayoutsResponse>('GET', '/v1/explorer/payouts?limit=100', { signal }), [id], 10_000);
  const verifications = useAsync((signal) => getIfServed<{ verifications?: Array<{ at?: number; passed?: boolean; reason?: string }> }>('/v1/devices/{id}/verifications', `/v1/devices/${id}/verifications`, signal), [id]);
  const d = detail.data;
  if (!d) return detail.error ? <ErrorNote error={detail.error} /> : <Loading what="the device" />;
  const perEpoch = new Map<number, number>();
  for (const b of payouts.data?.batches ?? []) {
    for (const p of b.payouts) {
      if (p.to !== d.payout) continue;
      const epoch = Math.floor(b.cutoffMs / EPOCH_MS) * EPOCH_MS;
      perEpoch.set(epoch, (perEpoch.get(epoch) ?? 0) + Number(p.amountIo));
    }
  }
  const points = [...perEpoch].sort(([a], [b]) => a - b).slice(-12).map(([epoch, io]) => ({ label: new Date(epoch).toISOString().slice(11, 16), value: io }));
  const history = verifications.data?.verifications ?? null;
  return (
    <div className="card">
      <h2>
        Device <Mono value={d.id} />
      </h2>
      <div className="stats">
        <Stat label="Hardware" value={`${d.slots} × ${d.gpuModel}`} hint={d.hardware.gpus.map((g) => g.name).join(', ') || `${d.hardware.cpu.cores} CPU cores, ${Math.round(d.hardware.memoryBytes / 2 ** 30)} GiB`} />
        <Stat label="Tier" value={d.tier} hint={`reputation ${d.reputation}`} />
        <Stat label="Stake" value="—" hint="staking is not offered by this control plane yet" />
        <Stat label="Earned (paid)" value={`${money(d.earnings.paidIo, 6)} IO`} hint={`${money(d.earnings.pendingIo, 6)} IO pending · ${d.earnings.gpuSeconds} GPU-s billed`} />
      </div>
      <p className="muted">
        Payout address <Mono value={d.payout} /> · agent {d.agentVersion} · first seen {when(d.firstSeenAt)}
      </p>
      <h3>Earnings per epoch (IO, net of fee)</h3>
      {points.length === 0 ? <Empty>Nothing paid yet: earnings appear after the device serves a lease and settlement pays the batch.</Empty> : <BarChart title="IO earned per hourly epoch" points={points} unit="IO" />}
      <h3>Verification history</h3>
      {history === null ? <Empty>Proof-of-GPU verification results are not published by this control plane yet.</Empty> : null}
      {history && history.length === 0 ? <Empty>No verification challenges yet.</Empty> : null}
      {history && history.length > 0 ? (
        <ul>
          {history.map((v, i) => (
            <li key={`${v.at ?? i}`}>
              {when(v.at)} — {v.passed ? 'passed' : `failed${v.reason ? `: ${v.reason}` : ''}`}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
