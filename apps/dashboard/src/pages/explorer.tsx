import { useState, type FormEvent } from 'react';
import type { DeviceView, EstimateResponse, ExplorerLeaseDetail, ExplorerPayoutsResponse, explorerBurnsResponseSchema, explorerLeasesResponseSchema, TokenResponse } from '@idlegrid/protocol';
import type { z } from 'zod';
import { getIfServed, request } from '../lib/api.ts';
import { money, when } from '../lib/format.ts';
import { navigate, usePath } from '../lib/router.tsx';
import { useAsync } from '../lib/use-async.ts';
import { Empty, ErrorNote, Loading, Mono, MonoList, Stat, StateBadge } from '../components/ui.tsx';
import { EmissionsTab } from './explorer-emissions.tsx';
import { GovernanceTab, ParamsTab } from './explorer-governance.tsx';

type Burns = z.infer<typeof explorerBurnsResponseSchema>;
type Leases = z.infer<typeof explorerLeasesResponseSchema>;
const TABS = ['leases', 'payouts', 'burns', 'emissions', 'governance', 'parameters'] as const;
type Tab = (typeof TABS)[number];
const TAB_LABELS: Record<Tab, string> = { leases: 'leases', payouts: 'payouts', burns: 'burns', emissions: 'epochs & emissions', governance: 'governance', parameters: 'parameters' };

/** The public explorer: network and token totals, then leases, payouts, burns, reward epochs, governance and the parameters in force. */
export function ExplorerPage() {
  const path = usePath();
  const params = new URLSearchParams(path.split('?')[1] ?? '');
  const lease = params.get('lease');
  const tab = (TABS as readonly string[]).includes(params.get('tab') ?? '') ? (params.get('tab') as Tab) : 'leases';
  const [search, setSearch] = useState(lease ?? '');
  const go = (next: { tab?: Tab; lease?: string | null }) => {
    const q = new URLSearchParams();
    q.set('tab', next.tab ?? tab);
    const l = next.lease === undefined ? lease : next.lease;
    if (l) q.set('lease', l);
    navigate(`/explorer?${q.toString()}`);
  };
  const find = (e: FormEvent) => {
    e.preventDefault();
    go({ lease: search.trim() || null });
  };
  return (
    <section>
      <h1>Explorer</h1>
      <Totals />
      <form className="row search" role="search" onSubmit={find}>
        <label>
          Find a lease
          <input value={search} onChange={(e) => setSearch(e.target.value)} placeholder="lse_…" spellCheck={false} />
        </label>
        <button type="submit">Find</button>
      </form>
      {lease ? <LeaseDetail id={lease} onClose={() => go({ lease: null })} /> : null}
      <div role="tablist" aria-label="Explorer sections" className="tabs">
        {TABS.map((t) => (
          <button key={t} type="button" role="tab" aria-selected={tab === t} className={tab === t ? 'tab active' : 'tab'} onClick={() => go({ tab: t })}>
            {TAB_LABELS[t]}
          </button>
        ))}
      </div>
      <div role="tabpanel" aria-label={tab}>
        {tab === 'leases' ? <LeasesTab open={(id) => go({ lease: id })} /> : null}
        {tab === 'payouts' ? <PayoutsTab /> : null}
        {tab === 'burns' ? <BurnsTab /> : null}
        {tab === 'emissions' ? <EmissionsTab /> : null}
        {tab === 'governance' ? <GovernanceTab /> : null}
        {tab === 'parameters' ? <ParamsTab /> : null}
      </div>
    </section>
  );
}

function Totals() {
  const devices = useAsync((signal) => request<{ devices: DeviceView[] }>('GET', '/v1/devices?limit=200', { signal }), [], 10_000);
  const estimate = useAsync((signal) => request<EstimateResponse>('GET', '/v1/estimate?gpu=cpu', { signal }), [], 10_000);
  const token = useAsync((signal) => getIfServed<TokenResponse>('/v1/explorer/token', '/v1/explorer/token', signal), [], 5000);
  const n = estimate.data?.network;
  const t = token.data;
  const online = devices.data?.devices.filter((d) => d.status === 'online').length;
  const noChain = token.data === null ? 'no chain on this control plane' : undefined;
  const none = t === null ? '—' : '…';
  return (
    <div className="stats" aria-label="Network totals">
      <Stat
        label="Devices online"
        value={devices.data ? String(online) : '…'}
        hint={n ? `${n.models.map((m) => `${m.slots} × ${m.gpuModel}`).join(', ') || 'no GPUs'} · ${devices.data?.devices.length ?? 0} known` : undefined}
      />
      <Stat label="Utilization" value={n ? `${(n.utilizationBps / 100).toFixed(1)} %` : '…'} hint={n ? `of online slots, last ${n.windowSeconds / 3600} h` : undefined} />
      <Stat label="IO supply" value={t ? money(t.supplyIo) : none} hint={t ? `in ${t.tokenAccounts} token accounts` : noChain} />
      <Stat label="IO minted" value={t ? money(t.mintedIo) : none} hint={t ? 'epoch emissions (SPL mintTo)' : noChain} />
      <Stat label="IO burned" value={t ? money(t.burnedIo, 6) : none} hint={t ? 'protocol fees and slashes (SPL burn)' : noChain} />
      <div data-testid="conservation" data-ok={t ? String(t.conservation) : undefined} className={t ? (t.conservation ? 'stat good' : 'stat bad') : 'stat'}>
        <div className="stat-label">Conservation</div>
        <div className="stat-value">{t ? (t.conservation ? '✓ holds' : '✗ broken') : none}</div>
        <div className="stat-hint">supply = minted − burned = Σ balances</div>
      </div>
    </div>
  );
}

function LeasesTab({ open }: { open: (id: string) => void }) {
  const leases = useAsync((signal) => request<Leases>('GET', '/v1/explorer/leases?limit=100', { signal }), [], 5000);
  if (!leases.data) return leases.error ? <ErrorNote error={leases.error} retry={leases.reload} /> : <Loading what="leases" />;
  const rows = [...leases.data.leases].sort((a, b) => b.createdAt - a.createdAt);
  if (rows.length === 0) return <Empty>No leases yet.</Empty>;
  return (
    <table>
      <caption className="sr-only">Leases, newest first</caption>
      <thead>
        <tr>
          <th scope="col">Lease</th>
          <th scope="col">State</th>
          <th scope="col">GPUs</th>
          <th scope="col">Created</th>
          <th scope="col">Reserved / charged / refunded (IO)</th>
          <th scope="col">Open anchor (memo tx)</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((l) => (
          <tr key={l.id}>
            <td>
              <button type="button" className="link" onClick={() => open(l.id)}>
                {l.id}
              </button>
            </td>
            <td>
              <StateBadge state={l.state} />
            </td>
            <td>
              {l.slots} × {l.gpuModel}
            </td>
            <td>{when(l.createdAt)}</td>
            <td>
              {money(l.reservedIo)} / {money(l.chargedIo, 6)} / {money(l.refundIo, 6)}
            </td>
            <td>
              <Mono value={l.openAnchor} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function PayoutsTab() {
  const payouts = useAsync((signal) => request<ExplorerPayoutsResponse>('GET', '/v1/explorer/payouts?limit=50', { signal }), [], 5000);
  if (!payouts.data) return payouts.error ? <ErrorNote error={payouts.error} retry={payouts.reload} /> : <Loading what="payouts" />;
  if (payouts.data.batches.length === 0) return <Empty>No settlement batch yet: payouts appear once a cluster has run and a settlement round paid it.</Empty>;
  return (
    <table>
      <caption className="sr-only">Settlement batches, newest first</caption>
      <thead>
        <tr>
          <th scope="col">Batch</th>
          <th scope="col">State</th>
          <th scope="col">Paid to (IO)</th>
          <th scope="col">Gross / fee / burned (IO)</th>
          <th scope="col">Memo</th>
          <th scope="col">Transactions</th>
        </tr>
      </thead>
      <tbody>
        {payouts.data.batches.map((b) => (
          <tr key={b.id}>
            <td>
              <code>{b.id}</code>
              <div className="muted small">{when(b.cutoffMs)}</div>
            </td>
            <td>
              <StateBadge state={b.state} />
            </td>
            <td>
              {b.payouts.map((p) => (
                <div key={p.to}>
                  <Mono value={p.to} /> {money(p.amountIo, 6)}
                </div>
              ))}
            </td>
            <td className="nowrap">
              {money(b.grossIo, 6)} / {money(b.feeIo, 6)} / {money(b.burnIo, 6)}
            </td>
            <td className="clip" title={b.memo}>
              <code>{b.memo}</code>
            </td>
            <td>
              <MonoList values={b.signatures} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function BurnsTab() {
  const burns = useAsync((signal) => request<Burns>('GET', '/v1/explorer/burns?limit=50', { signal }), [], 5000);
  const payouts = useAsync((signal) => request<ExplorerPayoutsResponse>('GET', '/v1/explorer/payouts?limit=50', { signal }), [], 5000);
  if (!burns.data) return burns.error ? <ErrorNote error={burns.error} retry={burns.reload} /> : <Loading what="burns" />;
  if (burns.data.burns.length === 0) return <Empty>Nothing burned yet: half of each settlement batch's protocol fee is burned.</Empty>;
  const memo = new Map((payouts.data?.batches ?? []).map((b) => [b.id, b.memo]));
  return (
    <table>
      <caption className="sr-only">Burns, newest first</caption>
      <thead>
        <tr>
          <th scope="col">Batch</th>
          <th scope="col">When</th>
          <th scope="col">Burned (IO)</th>
          <th scope="col">Memo</th>
          <th scope="col">Transactions</th>
        </tr>
      </thead>
      <tbody>
        {burns.data.burns.map((b) => (
          <tr key={b.batch}>
            <td>
              <code>{b.batch}</code>
            </td>
            <td>{when(b.cutoffMs)}</td>
            <td>{money(b.burnIo, 6)}</td>
            <td className="clip">
              <code>{memo.get(b.batch) ?? '—'}</code>
            </td>
            <td>
              <MonoList values={b.signatures} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function LeaseDetail({ id, onClose }: { id: string; onClose: () => void }) {
  const detail = useAsync((signal) => request<ExplorerLeaseDetail>('GET', `/v1/explorer/leases/${encodeURIComponent(id)}`, { signal }), [id], 5000);
  const d = detail.data;
  return (
    <div className="card" aria-label={`Lease ${id}`} data-testid="lease-detail">
      <div className="row spread">
        <h2>
          Lease <code>{id}</code> {d ? <StateBadge state={d.lease.state} /> : null}
        </h2>
        <button type="button" className="secondary small" onClick={onClose}>
          Close
        </button>
      </div>
      {detail.loading && !d ? <Loading what="the lease" /> : null}
      <ErrorNote error={detail.error} />
      {d ? (
        <>
          <div className="stats">
            <Stat label="GPUs" value={`${d.lease.slots} × ${d.lease.gpuModel}`} hint={`created ${when(d.lease.createdAt)}`} />
            <Stat label="Reserved" value={`${money(d.lease.reservedIo)} IO`} />
            <Stat label="Charged" value={`${money(d.lease.chargedIo, 6)} IO`} />
            <Stat label="Refunded" value={`${money(d.lease.refundIo, 6)} IO`} />
          </div>
          <p className="muted">
            Terms anchored by <Mono value={d.lease.openAnchor} />, closed by <Mono value={d.lease.closeAnchor} />
          </p>
          <h3>Payouts and burns</h3>
          {d.batches.length === 0 ? <Empty>No settlement batch has paid for this lease yet (rounds run every few seconds while it is billed).</Empty> : null}
          {d.batches.length > 0 ? (
            <table>
              <thead>
                <tr>
                  <th scope="col">Batch</th>
                  <th scope="col">Payouts (IO)</th>
                  <th scope="col">Fee / batch burn (IO)</th>
                  <th scope="col">Memo</th>
                  <th scope="col">Transactions</th>
                </tr>
              </thead>
              <tbody>
                {d.batches.map((b) => (
                  <tr key={b.id}>
                    <td>
                      <code>{b.id}</code> <StateBadge state={b.state} />
                    </td>
                    <td>
                      {b.payouts.map((p) => (
                        <div key={p.to} className="payout">
                          <Mono value={p.to} /> {money(p.amountIo, 6)}
                        </div>
                      ))}
                    </td>
                    <td className="burn">
                      {money(b.leaseFeeIo, 6)} / {money(b.batchBurnIo, 6)}
                    </td>
                    <td className="clip" title={b.memo}>
                      <code>{b.memo}</code>
                    </td>
                    <td>
                      <MonoList values={b.signatures} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </>
      ) : null}
    </div>
  );
}
