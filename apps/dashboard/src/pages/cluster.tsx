import { useState } from 'react';
import type { ChainInfoResponse, ClusterView, DeviceView, ExplorerLeaseDetail, WalletResponse } from '@idlegrid/protocol';
import { request } from '../lib/api.ts';
import { useClustersFeed } from '../lib/clusters-feed.ts';
import { duration, money, usd, when } from '../lib/format.ts';
import { Link } from '../lib/router.tsx';
import { useSession } from '../lib/session.tsx';
import { useAsync } from '../lib/use-async.ts';
import { CopyButton, ErrorNote, Loading, Mono, Stat, StateBadge } from '../components/ui.tsx';
import { Steps } from '../components/steps.tsx';
import { JobsPanel } from './cluster-jobs.tsx';

const PROGRESS = ['requested', 'allocating', 'provisioning', 'ready'];
const FINAL = ['ended', 'failed'];

/** Steps 2 and 3: deploy progress with nodes joining, then the cluster in use (jobs, nodes, cost). */
export function ClusterPage({ id }: { id: string }) {
  const session = useSession();
  const feed = useClustersFeed(session.apiKey);
  const direct = useAsync((signal) => request<ClusterView>('GET', `/v1/clusters/${id}`, { key: session.apiKey, signal }), [id, session.apiKey]);
  const cluster = feed.clusters?.find((c) => c.id === id) ?? direct.data;
  if (!cluster) {
    return (
      <section>
        <h1>Cluster {id}</h1>
        {direct.loading ? <Loading what="the cluster" /> : null}
        <ErrorNote error={direct.error} retry={direct.reload} />
      </section>
    );
  }
  const using = cluster.state === 'ready' || cluster.state === 'degraded';
  const step = using || FINAL.includes(cluster.state) || cluster.state === 'releasing' ? 3 : 2;
  return (
    <section>
      <p className="crumbs">
        <Link to="/clusters">My clusters</Link> / {cluster.name ?? cluster.id}
      </p>
      <h1>
        {cluster.name ?? 'Cluster'} <code className="title-id">{cluster.id}</code> <StateBadge state={cluster.state} />
      </h1>
      <Steps current={step} />
      {step === 2 ? <Progress cluster={cluster} /> : <InUse cluster={cluster} apiKey={session.apiKey ?? ''} />}
    </section>
  );
}

function Progress({ cluster }: { cluster: ClusterView }) {
  const at = PROGRESS.indexOf(cluster.state);
  const joined = cluster.nodes.filter((n) => n.state === 'joined').length;
  return (
    <div className="card" aria-live="polite">
      <h2>2. Deploy</h2>
      <ol className="progress" aria-label="Lease states">
        {PROGRESS.map((s, i) => (
          <li key={s} className={i < at ? 'done' : i === at ? 'current' : ''} aria-current={i === at ? 'step' : undefined}>
            {s}
          </li>
        ))}
      </ol>
      <p>
        {joined} of {cluster.nodes.length || '…'} nodes joined Ray. Each device starts a Ray node for this lease; the head comes first, then the workers join it.
      </p>
      <Nodes cluster={cluster} />
      <Notices cluster={cluster} />
    </div>
  );
}

function InUse({ cluster, apiKey }: { cluster: ClusterView; apiKey: string }) {
  const using = cluster.state === 'ready' || cluster.state === 'degraded';
  const wallet = useAsync((signal) => request<WalletResponse>('GET', '/v1/wallet', { key: apiKey, signal }), [apiKey], 5000);
  const chain = useAsync((signal) => request<ChainInfoResponse>('GET', '/v1/chain', { signal }), []);
  const lease = useAsync((signal) => request<ExplorerLeaseDetail>('GET', `/v1/explorer/leases/${cluster.id}`, { signal }), [cluster.id, cluster.state], 10_000);
  const [hours, setHours] = useState(0.25);
  const [confirming, setConfirming] = useState(false);
  const [actionError, setActionError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const act = async (path: string, body: unknown) => {
    setBusy(true);
    setActionError(null);
    try {
      await request<ClusterView>('POST', `/v1/clusters/${cluster.id}/${path}`, { key: apiKey, body });
      lease.reload();
    } catch (e) {
      setActionError(e);
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  };
  const submitLine = `ray job submit --address ${cluster.endpoints.ray} --headers '{"Authorization":"Bearer ${apiKey}"}' -- python -c "import ray; ray.init(); print(ray.cluster_resources())"`;
  const reserved = lease.data?.lease.reservedIo ?? null;
  const ioPrice = Number(chain.data?.ioUsdReferencePrice ?? '1') || 1;
  const left = reserved === null ? null : Math.max(0, Number(reserved) - Number(cluster.accruedUsd) / ioPrice);
  const remaining = (cluster.expiresAt - Date.now()) / 1000;
  const ended = FINAL.includes(cluster.state);
  const refund = lease.data?.lease.refundIo ?? null;
  return (
    <>
      <div className="stats" aria-label="Cost" aria-live="polite">
        <Stat label={ended ? 'Total cost' : 'Cost so far'} value={usd(cluster.accruedUsd)} hint={`${usd(cluster.pricePerHour)} per hour, billed per second`} />
        {ended ? (
          <Stat label="Refunded to your wallet" value={refund === null ? 'settling…' : `${money(refund, 6)} IO`} hint={reserved ? `of ${money(reserved, 6)} IO reserved` : undefined} />
        ) : (
          <Stat label="Escrow left for this lease" value={left === null ? '—' : `${left.toFixed(4)} IO`} hint={reserved ? `of ${money(reserved, 6)} IO reserved` : undefined} />
        )}
        <Stat label="Your unreserved escrow" value={wallet.data ? `${money(wallet.data.escrow.io)} IO` : '—'} hint="for new bookings" />
        {ended ? (
          <Stat label="Ended" value={when(cluster.endedAt)} />
        ) : (
          <Stat label="Time left" value={duration(Math.max(0, remaining))} hint={`expires ${when(cluster.expiresAt)}`} />
        )}
      </div>
      {cluster.failureReason ? <div className="note error">{cluster.failureReason}</div> : null}
      {using ? (
        <div className="card">
          <h2>3. Use and pay</h2>
          <p>
            Ray is reachable only through the control plane's authenticated proxy, with your API key:
          </p>
          <div className="copyline">
            <code>{cluster.endpoints.ray}</code>
            <CopyButton text={cluster.endpoints.ray} label="Copy the proxy address" />
          </div>
          <p className="muted">Submit from your terminal with Ray's own CLI (the line holds your API key):</p>
          <div className="copyline">
            <code className="clip">{submitLine.replace(apiKey, `${apiKey.slice(0, 8)}…`)}</code>
            <CopyButton text={submitLine} label="Copy the ray job submit command" />
          </div>
          <div className="row actions">
            <label className="narrow-field">
              Extend by (hours)
              <input type="number" min={0.05} step={0.05} value={hours} onChange={(e) => setHours(Math.max(0.05, Number(e.target.value) || 0.05))} />
            </label>
            <button type="button" className="secondary" disabled={busy} onClick={() => void act('extend', { hours })}>
              Extend
            </button>
            {confirming ? (
              <>
                <button type="button" className="danger" disabled={busy} onClick={() => void act('release', undefined)}>
                  Confirm release
                </button>
                <button type="button" className="secondary" onClick={() => setConfirming(false)}>
                  Keep it
                </button>
              </>
            ) : (
              <button type="button" className="danger" disabled={busy} onClick={() => setConfirming(true)}>
                Release
              </button>
            )}
          </div>
          {confirming ? <p className="muted">Ray stops on every node; escrow not used is refunded to your wallet.</p> : null}
          <ErrorNote error={actionError} />
        </div>
      ) : null}
      {using ? <JobsPanel rayUrl={cluster.endpoints.ray} apiKey={apiKey} /> : null}
      <div className="card">
        <h2>Nodes</h2>
        <Nodes cluster={cluster} />
      </div>
      {FINAL.includes(cluster.state) || cluster.state === 'releasing' ? (
        <div className="card">
          <h2>Settlement</h2>
          {lease.data ? (
            <p>
              Reserved {money(lease.data.lease.reservedIo)} IO, charged {money(lease.data.lease.chargedIo, 6)} IO, refunded {money(lease.data.lease.refundIo, 6)} IO.{' '}
              <Link to={`/explorer?lease=${cluster.id}`}>See it in the explorer</Link>
            </p>
          ) : (
            <Loading what="settlement" />
          )}
        </div>
      ) : null}
      <Notices cluster={cluster} />
    </>
  );
}

/** Estimated RTT from Vivaldi coordinates: Euclidean distance plus both heights (ms). */
function rttMs(a: DeviceView['coordinate'], b: DeviceView['coordinate']): number | null {
  if (!a || !b) return null;
  return Math.hypot(a.x - b.x, a.y - b.y) + a.h + b.h;
}

function Nodes({ cluster }: { cluster: ClusterView }) {
  const ids = [...new Set(cluster.nodes.map((n) => n.deviceId))].sort().join(',');
  const devices = useAsync(
    async (signal) => new Map((await Promise.all(ids.split(',').filter(Boolean).map((d) => request<DeviceView>('GET', `/v1/devices/${d}`, { signal })))).map((d) => [d.id, d])),
    [ids],
    10_000,
  );
  if (cluster.nodes.length === 0) return <p className="muted">Placing the cluster on devices…</p>;
  const head = cluster.headDeviceId ? devices.data?.get(cluster.headDeviceId) : undefined;
  return (
    <table>
      <caption className="sr-only">Nodes of the cluster</caption>
      <thead>
        <tr>
          <th scope="col">Device</th>
          <th scope="col">Role</th>
          <th scope="col">State</th>
          <th scope="col">Region</th>
          <th scope="col">Est. RTT to head</th>
          <th scope="col">$/GPU-h</th>
          <th scope="col">Billed</th>
        </tr>
      </thead>
      <tbody>
        {cluster.nodes.map((n) => {
          const d = devices.data?.get(n.deviceId);
          const rtt = n.role === 'head' ? null : rttMs(d?.coordinate ?? null, head?.coordinate ?? null);
          return (
            <tr key={`${n.deviceId}-${n.assignedAt}`}>
              <td>
                <Mono value={n.deviceId} />
              </td>
              <td>{n.role}</td>
              <td>
                <StateBadge state={n.state} />
              </td>
              <td>{d?.region ?? '…'}</td>
              <td>{n.role === 'head' ? 'head' : rtt === null ? '—' : `${rtt.toFixed(1)} ms`}</td>
              <td>{usd(n.pricePerGpuHour)}</td>
              <td>{duration(n.billedSeconds)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function Notices({ cluster }: { cluster: ClusterView }) {
  if (cluster.notices.length === 0) return null;
  return (
    <div className="card">
      <h2>Notices</h2>
      <ul>
        {cluster.notices.map((n) => (
          <li key={`${n.atMs}-${n.text}`}>
            <span className="muted">{when(n.atMs)}</span> {n.text}
          </li>
        ))}
      </ul>
    </div>
  );
}

