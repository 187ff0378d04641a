/** One bar: its label and one value per series (stacked bottom up in the series' order). */
export interface BarPoint {
  label: string;
  values: number[];
}

/** A value axis that ends on a round number (1, 2 or 5 × a power of ten). */
function niceMax(max: number): number {
  if (max <= 0) return 1;
  const step = 10 ** Math.floor(Math.log10(max));
  return [1, 2, 5, 10].map((m) => m * step).find((v) => v >= max) ?? max;
}

function tick(v: number): string {
  if (v === 0) return '0';
  if (v >= 1000) return v.toLocaleString('en-US', { maximumFractionDigits: 0 });
  return v.toLocaleString('en-US', { maximumSignificantDigits: 3 });
}

/**
 * A small accessible SVG bar chart: stacked series with a legend, a round value axis, and the
 * numbers in a table for screen readers (and on hover).
 */
export function BarChart({ title, points, series, unit }: { title: string; points: BarPoint[]; series: string[]; unit: string }) {
  const width = 640;
  const height = 200;
  const pad = { left: 64, right: 8, bottom: 28, top: 12 };
  const plot = height - pad.bottom - pad.top;
  const max = niceMax(Math.max(0, ...points.map((p) => p.values.reduce((s, v) => s + v, 0))));
  const slot = (width - pad.left - pad.right) / Math.max(points.length, 1);
  const bar = Math.min(40, slot * 0.7);
  // Label every bar when they fit, else every k-th.
  const every = Math.max(1, Math.ceil(points.length / 12));
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={title}>
        {[0, 0.5, 1].map((f) => (
          <g key={f}>
            <line x1={pad.left} x2={width - pad.right} y1={pad.top + plot * (1 - f)} y2={pad.top + plot * (1 - f)} className={f === 0 ? 'axis' : 'grid'} />
            <text x={pad.left - 6} y={pad.top + plot * (1 - f) + 4} className="tick" textAnchor="end">
              {tick(max * f)}
            </text>
          </g>
        ))}
        {points.map((p, i) => {
          const x = pad.left + i * slot + (slot - bar) / 2;
          let y = pad.top + plot;
          const total = p.values.reduce((s, v) => s + v, 0);
          return (
            <g key={p.label}>
              <title>{`${p.label}: ${series.map((s, k) => `${s} ${p.values[k] ?? 0}`).join(', ')} (${total} ${unit})`}</title>
              {p.values.map((v, k) => {
                const h = (plot * v) / max;
                y -= h;
                return <rect key={series[k] ?? k} x={x} y={y} width={bar} height={h} className={`bar s${k}`} />;
              })}
              {i % every === 0 ? (
                <text x={x + bar / 2} y={height - 10} className="tick" textAnchor="middle">
                  {p.label}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
      <figcaption>
        {title}
        {series.length > 1
          ? series.map((s, k) => (
              <span key={s} className="legend">
                <span className={`swatch s${k}`} aria-hidden="true" /> {s}
              </span>
            ))
          : null}
      </figcaption>
      <table className="sr-only">
        <thead>
          <tr>
            <th scope="col">Bar</th>
            {series.map((s) => (
              <th key={s} scope="col">
                {s} ({unit})
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {points.map((p) => (
            <tr key={p.label}>
              <th scope="row">{p.label}</th>
              {series.map((s, k) => (
                <td key={s}>{p.values[k] ?? 0}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
