import { useClustersFeed } from '../lib/clusters-feed.ts';
import { usd, when } from '../lib/format.ts';
import { Link } from '../lib/router.tsx';
import { useSession } from '../lib/session.tsx';
import { Empty, ErrorNote, Loading, StateBadge } from '../components/ui.tsx';

/** The wallet's clusters, live (state, nodes joined, cost so far). */
export function ClustersPage() {
  const session = useSession();
  const { clusters, error, live } = useClustersFeed(session.apiKey);
  return (
    <section>
      <h1>
        My clusters {live ? <span className="live" title="Updates arrive without reloading">live</span> : null}
      </h1>
      {!clusters && !error ? <Loading what="your clusters" /> : null}
      <ErrorNote error={error} />
      {clusters && clusters.length === 0 ? (
        <Empty>
          No clusters yet. <Link to="/book">Book one</Link>.
        </Empty>
      ) : null}
      {clusters && clusters.length > 0 ? (
        <table>
          <caption className="sr-only">Your clusters, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Cluster</th>
              <th scope="col">State</th>
              <th scope="col">GPUs</th>
              <th scope="col">Nodes joined</th>
              <th scope="col">$/hour</th>
              <th scope="col">Cost so far</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {clusters.map((c) => (
              <tr key={c.id}>
                <td>
                  <Link to={`/clusters/${c.id}`}>{c.name ?? c.id}</Link>
                  {c.name ? <div className="muted small">{c.id}</div> : null}
                </td>
                <td>
                  <StateBadge state={c.state} />
                </td>
                <td>
                  {c.slots} × {c.gpuModel}
                </td>
                <td>
                  {c.nodes.filter((n) => n.state === 'joined').length} / {c.nodes.length}
                </td>
                <td>{usd(c.pricePerHour)}</td>
                <td>{usd(c.accruedUsd)}</td>
                <td>{when(c.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
