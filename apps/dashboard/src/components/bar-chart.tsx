/** A small accessible SVG bar chart (values with labels); the numbers are also in a table for screen readers. */
export function BarChart({ title, points, unit }: { title: string; points: Array<{ label: string; value: number }>; unit: string }) {
  const width = 560;
  const height = 180;
  const pad = { left: 48, bottom: 28, top: 12 };
  const max = Math.max(...points.map((p) => p.value), 0) || 1;
  const slot = (width - pad.left) / Math.max(points.length, 1);
  const bar = Math.min(40, slot * 0.7);
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={title}>
        <line x1={pad.left} y1={height - pad.bottom} x2={width} y2={height - pad.bottom} className="axis" />
        <text x={pad.left - 6} y={pad.top + 8} className="tick" textAnchor="end">
          {max.toFixed(max < 1 ? 4 : 2)}
        </text>
        <text x={pad.left - 6} y={height - pad.bottom} className="tick" textAnchor="end">
          0
        </text>
        {points.map((p, i) => {
          const h = ((height - pad.bottom - pad.top) * p.value) / max;
          const x = pad.left + i * slot + (slot - bar) / 2;
          return (
            <g key={p.label}>
              <rect x={x} y={height - pad.bottom - h} width={bar} height={h} className="bar">
                <title>{`${p.label}: ${p.value} ${unit}`}</title>
              </rect>
              <text x={x + bar / 2} y={height - 10} className="tick" textAnchor="middle">
                {p.label}
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption>{title}</figcaption>
      <table className="sr-only">
        <tbody>
          {points.map((p) => (
            <tr key={p.label}>
              <th>{p.label}</th>
              <td>
                {p.value} {unit}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
