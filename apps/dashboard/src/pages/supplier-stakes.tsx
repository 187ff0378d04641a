import type { StakeResponse } from '@idlegrid/protocol';
import { request, serves } from '../lib/api.ts';
import { money, when } from '../lib/format.ts';
import { useAsync } from '../lib/use-async.ts';
import { ErrorNote, Mono, StateBadge } from '../components/ui.tsx';

/**
 * The signed-in wallet's stakes (GET /v1/stake): per device the active stake against its
 * requirement, what is cooling down, unstakes and slashes. Staking itself is signed by the
 * wallet in the CLI.
 */
export function YourStakes({ apiKey, onOpen }: { apiKey: string; onOpen: (deviceId: string) => void }) {
  const stakes = useAsync(
    async (signal) => ((await serves('/v1/stake')) ? request<StakeResponse>('GET', '/v1/stake', { key: apiKey, signal }) : null),
    [apiKey],
    10_000,
  );
  if (stakes.error) return <ErrorNote error={stakes.error} retry={stakes.reload} />;
  const s = stakes.data;
  if (!s) return null;
  if (s.devices.length === 0) {
    return (
      <p className="muted" data-testid="your-stakes">
        Your wallet stakes no device. A device earns epoch rewards only once its stake covers the requirement (a cpu slot 20 IO, an H100 2,000 IO):{' '}
        <code>idlegrid stake add --amount 20 --device ID</code>
      </p>
    );
  }
  return (
    <div className="card" data-testid="your-stakes">
      <h2>Your stakes</h2>
      <p className="muted small">
        Sent to the stake vault <Mono value={s.stakeVault} />; an unstake waits {s.cooldownHours} h and can still be slashed until then (<code>idlegrid stake remove --amount X --device ID</code>).
      </p>
      <table className="compact">
        <thead>
          <tr>
            <th scope="col">Device</th>
            <th scope="col">Staked / required (IO)</th>
            <th scope="col">Coverage</th>
            <th scope="col">Cooling down (IO)</th>
            <th scope="col">Unstakes</th>
            <th scope="col">Slashes</th>
          </tr>
        </thead>
        <tbody>
          {s.devices.map((d) => (
            <tr key={d.deviceId}>
              <td>
                <button type="button" className="link" onClick={() => onOpen(d.deviceId)} title={d.deviceId}>
                  {d.deviceId.slice(0, 8)}…{d.deviceId.slice(-8)}
                </button>
                <div className="muted small">{d.gpuCount !== null && d.gpuModel !== null ? `${d.gpuCount} × ${d.gpuModel}` : 'not registered'}</div>
              </td>
              <td className="num">
                {money(d.staked)} / {money(d.requirement)}
              </td>
              <td>
                <span className={d.covered ? 'ok' : 'warn'}>{(d.coveragePpm / 10_000).toFixed(0)} %</span>
              </td>
              <td className="num">{money(d.cooling)}</td>
              <td className="small">
                {d.unstakes.length === 0 ? <span className="muted">none</span> : null}
                {d.unstakes.map((u) => (
                  <div key={u.id}>
                    {money(u.amount)} IO <StateBadge state={u.state} /> <span className="muted">from {when(u.availableAt)}</span>
                  </div>
                ))}
              </td>
              <td className="small">
                {d.slashes.length === 0 ? <span className="muted">none</span> : null}
                {d.slashes.map((x) => (
                  <div key={x.id}>
                    {money(x.amount, 6)} IO for {x.reason} <span className="muted">({when(x.at)}; {money(x.burned, 6)} burned)</span>
                  </div>
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
