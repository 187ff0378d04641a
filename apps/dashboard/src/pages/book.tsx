import { useEffect, useMemo, useState } from 'react';
import { GPU_MODELS, REGIONS, TIERS } from '@idlegrid/domain';
import type { ClusterRequestInput, ClusterView, QuoteResponse, SupplyResponse } from '@idlegrid/protocol';
import { request } from '../lib/api.ts';
import { usd } from '../lib/format.ts';
import { savingAgainstReference } from '../lib/reference-prices.ts';
import { navigate } from '../lib/router.tsx';
import { useSession } from '../lib/session.tsx';
import { useAsync } from '../lib/use-async.ts';
import { Empty, ErrorNote, Loading, Stat } from '../components/ui.tsx';
import { Steps } from '../components/steps.tsx';

interface Form {
  gpu: string;
  count: number;
  hours: number;
  regions: string[];
  minTier: string;
  topology: 'tight' | 'spread';
  pay: 'IO' | 'USDC';
}

function toRequest(f: Form): ClusterRequestInput {
  return {
    gpu: f.gpu, count: f.count, hours: f.hours, topology: f.topology, pay: f.pay,
    ...(f.regions.length > 0 ? { regions: f.regions } : {}),
    ...(f.minTier ? { minTier: f.minTier as (typeof TIERS)[number] } : {}),
  };
}

/** Step 1: what to book, with live availability and a quote (or why it cannot fit). */
export function BookPage() {
  const session = useSession();
  const supply = useAsync((signal) => request<SupplyResponse>('GET', '/v1/supply', { signal }), [], 5000);
  const [form, setForm] = useState<Form>({ gpu: '', count: 2, hours: 0.25, regions: [], minTier: '', topology: 'spread', pay: 'IO' });
  const [quote, setQuote] = useState<QuoteResponse | null>(null);
  const [quoteError, setQuoteError] = useState<unknown>(null);
  const [deployError, setDeployError] = useState<unknown>(null);
  const [deploying, setDeploying] = useState(false);

  const available = supply.data;
  const models = useMemo(() => {
    const live = [...new Set(available?.groups.map((g) => g.gpuModel) ?? [])];
    return [...live, ...GPU_MODELS.filter((m) => !live.includes(m))];
  }, [available]);
  const liveRegions = useMemo(() => [...new Set<string>(available?.groups.map((g) => g.region) ?? [])], [available]);
  const otherRegions = REGIONS.map((r) => r.id as string).filter((r) => !liveRegions.includes(r));
  useEffect(() => {
    if (!form.gpu && available) setForm((f) => ({ ...f, gpu: available.groups[0]?.gpuModel ?? 'H100' }));
  }, [available, form.gpu]);

  const body = useMemo(() => (form.gpu ? toRequest(form) : null), [form]);
  const liveSlots = available?.groups.filter((g) => g.gpuModel === form.gpu).reduce((n, g) => n + g.freeSlots, 0) ?? 0;
  useEffect(() => {
    if (!body) return;
    const controller = new AbortController();
    const t = setTimeout(() => {
      request<QuoteResponse>('POST', '/v1/quotes', { body, signal: controller.signal }).then(
        (q) => {
          setQuote(q);
          setQuoteError(null);
        },
        (e: unknown) => {
          if (!controller.signal.aborted) setQuoteError(e);
        },
      );
    }, 250);
    return () => {
      clearTimeout(t);
      controller.abort();
    };
  }, [body, liveSlots]);

  const deploy = async () => {
    if (!body) return;
    setDeploying(true);
    setDeployError(null);
    try {
      const cluster = await request<ClusterView>('POST', '/v1/clusters', { key: session.apiKey, body });
      navigate(`/clusters/${cluster.id}`);
    } catch (e) {
      setDeployError(e);
      setDeploying(false);
    }
  };

  const set = <K extends keyof Form>(key: K, value: Form[K]) => setForm((f) => ({ ...f, [key]: value }));
  const perGpu = quote?.feasible ? Number(quote.pricePerHour) / Math.max(quote.slots, 1) : null;
  const saving = quote?.feasible && perGpu !== null ? savingAgainstReference(quote.gpuModel, perGpu) : null;

  return (
    <section>
      <h1>Book a Ray cluster</h1>
      <Steps current={1} />
      <div className="grid book">
        <form className="card" aria-label="Cluster request" onSubmit={(e) => { e.preventDefault(); void deploy(); }}>
          <h2>1. Search and define</h2>
          <div className="row">
            <label>
              GPU model
              <select value={form.gpu} onChange={(e) => set('gpu', e.target.value)}>
                {models.map((m) => (
                  <option key={m} value={m}>
                    {m}
                  </option>
                ))}
              </select>
            </label>
            <label>
              GPU count
              <input type="number" min={1} max={10000} value={form.count} onChange={(e) => set('count', Math.max(1, Number(e.target.value) || 1))} />
            </label>
            <label>
              Duration (hours)
              <input type="number" min={0.05} step={0.05} value={form.hours} onChange={(e) => set('hours', Math.max(0.05, Number(e.target.value) || 0.05))} />
            </label>
          </div>
          <fieldset>
            <legend>Regions (none checked: any region)</legend>
            <RegionChecks regions={liveRegions} chosen={form.regions} onChange={(r) => set('regions', r)} />
            {liveRegions.length === 0 ? <p className="muted small">No region has devices online.</p> : null}
            <details>
              <summary>Regions without devices online ({otherRegions.length})</summary>
              <RegionChecks regions={otherRegions} chosen={form.regions} onChange={(r) => set('regions', r)} />
            </details>
          </fieldset>
          <div className="row">
            <label>
              Minimum tier
              <select value={form.minTier} onChange={(e) => set('minTier', e.target.value)}>
                <option value="">any</option>
                {TIERS.map((t) => (
                  <option key={t} value={t}>
                    {t}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Pay with
              <select value={form.pay} onChange={(e) => set('pay', e.target.value as Form['pay'])}>
                <option value="IO">IO (escrow)</option>
                <option value="USDC">USDC (settles in IO)</option>
              </select>
            </label>
          </div>
          <fieldset>
            <legend>Topology</legend>
            <label className="check">
              <input type="radio" name="topology" checked={form.topology === 'tight'} onChange={() => set('topology', 'tight')} />
              tight — lowest latency (training)
            </label>
            <label className="check">
              <input type="radio" name="topology" checked={form.topology === 'spread'} onChange={() => set('topology', 'spread')} />
              spread — lowest price (batch)
            </label>
          </fieldset>
          <button type="submit" disabled={deploying || !quote?.feasible}>
            {deploying ? 'Deploying…' : 'Deploy cluster'}
          </button>
          <ErrorNote error={deployError} />
        </form>
        <div>
          <div className="card" aria-live="polite">
            <h2>Availability now</h2>
            {supply.loading && !available ? <Loading what="supply" /> : null}
            <ErrorNote error={supply.error} retry={supply.reload} />
            {available && available.groups.length === 0 ? <Empty>No devices are online. Start agents with <code>idlegrid worker start</code>.</Empty> : null}
            {available && available.groups.length > 0 ? (
              <table>
                <thead>
                  <tr>
                    <th scope="col">Model</th>
                    <th scope="col">Region</th>
                    <th scope="col">Devices</th>
                    <th scope="col">Free slots</th>
                    <th scope="col">$/GPU-h</th>
                  </tr>
                </thead>
                <tbody>
                  {available.groups.map((g) => (
                    <tr key={`${g.gpuModel}/${g.region}`} className={g.gpuModel === form.gpu ? 'hl' : ''}>
                      <td>{g.gpuModel}</td>
                      <td>{g.region}</td>
                      <td>{g.devices}</td>
                      <td>{g.freeSlots}</td>
                      <td>
                        {g.minPricePerGpuHour === g.maxPricePerGpuHour ? usd(g.minPricePerGpuHour) : `${usd(g.minPricePerGpuHour)}–${usd(g.maxPricePerGpuHour)}`}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : null}
          </div>
          <div className="card quote" aria-live="polite" aria-label="Quote">
            <h2>Quote</h2>
            <ErrorNote error={quoteError} />
            {!quote && !quoteError ? <Loading what="quote" /> : null}
            {quote?.feasible ? (
              <>
                <div className="stats four">
                  <Stat label="Price per hour" value={usd(quote.pricePerHour)} hint={`${quote.slots} × ${quote.gpuModel}`} />
                  <Stat label={`Total for ${form.hours} h`} value={usd(quote.total)} />
                  <Stat label="Estimated RTT" value={`${quote.estimatedRttMs.max.toFixed(1)} ms`} hint={`mean ${quote.estimatedRttMs.mean.toFixed(1)} ms`} />
                  <Stat label="Regions" value={quote.regions.join(', ')} hint={`${quote.devices.length} devices`} />
                </div>
                {saving ? (
                  <div className={`saving ${saving.percent >= 0 ? 'good' : 'bad'}`}>
                    <strong>
                      {saving.percent >= 0 ? `${saving.percent}% cheaper` : `${-saving.percent}% dearer`} than hyperscaler on-demand
                    </strong>
                    : ${perGpu?.toFixed(3)} here against ${saving.reference.usdPerGpuHour.toFixed(2)} per {quote.gpuModel === 'cpu' ? 'slot' : 'GPU'}-hour
                    <div className="muted small">
                      Reference: {saving.reference.instance} ({saving.reference.source}, price of {saving.reference.date})
                    </div>
                  </div>
                ) : (
                  <p className="muted">No hyperscaler on-demand reference for {quote.gpuModel}.</p>
                )}
                <p className="muted">Escrow reserves the total in IO when you deploy; unused time is refunded on release.</p>
              </>
            ) : null}
            {quote && !quote.feasible ? (
              <div className="whynot">
                <p className="note warn" role="status">
                  <strong>It cannot fit:</strong> {quote.reason}
                </p>
                <p className="muted">{quote.available} matching slots online. Slots left after each filter:</p>
                <ul className="stages">
                  {quote.stages.map((s) => (
                    <li key={s.stage}>
                      {s.stage}: {s.remaining} slots on {s.devices} devices left
                    </li>
                  ))}
                </ul>
                {quote.alternatives.length > 0 ? <h3>What could fit</h3> : <Empty>Nothing close fits right now.</Empty>}
                <ul className="alternatives">
                  {quote.alternatives.map((a) => (
                    <li key={a.summary}>
                      {a.summary} — {usd(a.pricePerHour)}/h, total {usd(a.total)}
                      <button
                        type="button"
                        className="secondary small"
                        onClick={() =>
                          setForm((f) => ({
                            ...f,
                            count: a.request.count,
                            regions: a.request.regions ?? [],
                            minTier: a.request.minTier ?? '',
                            hours: a.request.hours,
                          }))
                        }
                      >
                        Use this
                      </button>
                    </li>
                  ))}
                </ul>
              </div>
            ) : null}
          </div>
        </div>
      </div>
    </section>
  );
}

function RegionChecks({ regions, chosen, onChange }: { regions: string[]; chosen: string[]; onChange: (regions: string[]) => void }) {
  return (
    <div className="checks">
      {regions.map((r) => (
        <label key={r} className="check">
          <input type="checkbox" checked={chosen.includes(r)} onChange={(e) => onChange(e.target.checked ? [...chosen, r] : chosen.filter((x) => x !== r))} />
          {r}
        </label>
      ))}
    </div>
  );
}
