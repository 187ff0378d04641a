import { getIfServed } from '../lib/api.ts';
import { when } from '../lib/format.ts';
import { useAsync } from '../lib/use-async.ts';
import { Empty, ErrorNote, Loading, Mono } from '../components/ui.tsx';

type Row = Record<string, unknown>;

const SOURCES = {
  emissions: { template: '/v1/explorer/emissions', path: '/v1/explorer/emissions?limit=50', list: ['emissions', 'epochs'], missing: 'Emissions are not published by this control plane yet: epochs and rewards are being wired.' },
  governance: { template: '/v1/governance/proposals', path: '/v1/governance/proposals', list: ['proposals'], missing: 'Governance is not served by this control plane yet.' },
} as const;

function text(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return v.toString();
  return JSON.stringify(v);
}

/**
 * Emissions and governance, built in parallel by others: shown generically from whatever the
 * endpoint returns (each row's transaction signature and memo first), an empty state until it exists.
 */
export function ExplorerExtras({ tab }: { tab: keyof typeof SOURCES }) {
  const source = SOURCES[tab];
  const data = useAsync(async (signal) => {
    const body = await getIfServed<Record<string, unknown>>(source.template, source.path, signal);
    if (body === null) return null;
    const key = source.list.find((k) => Array.isArray(body[k]));
    return key ? (body[key] as Row[]) : [];
  }, [tab], 10_000);
  if (data.loading && data.data === undefined) return <Loading what={tab} />;
  if (data.error) return <ErrorNote error={data.error} retry={data.reload} />;
  if (data.data === null || data.data === undefined) return <Empty>{source.missing}</Empty>;
  if (data.data.length === 0) return <Empty>No {tab} yet.</Empty>;
  const columns = [...new Set(data.data.flatMap((r) => Object.keys(r)))].filter((c) => !['signature', 'signatures', 'memo'].includes(c)).slice(0, 6);
  return (
    <table>
      <thead>
        <tr>
          {columns.map((c) => (
            <th key={c} scope="col">
              {c}
            </th>
          ))}
          <th scope="col">Memo</th>
          <th scope="col">Transaction</th>
        </tr>
      </thead>
      <tbody>
        {data.data.map((r, i) => (
          <tr key={text(r['id'] ?? i)}>
            {columns.map((c) => (
              <td key={c}>{/At(Ms)?$/.test(c) && typeof r[c] === 'number' ? when(r[c]) : text(r[c])}</td>
            ))}
            <td className="clip">
              <code>{text(r['memo'])}</code>
            </td>
            <td>
              <Mono value={typeof r['signature'] === 'string' ? r['signature'] : Array.isArray(r['signatures']) ? text(r['signatures'][0]) : null} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
