/** Decimal strings from the API ("12.5") shown with fixed places; never floats for money maths. */
export function money(value: string | null | undefined, places = 2): string {
  if (value === null || value === undefined || value === '') return '—';
  const [whole = '0', fraction = ''] = value.split('.');
  const padded = (fraction + '000000').slice(0, Math.max(places, 0));
  const trimmed = places > 2 ? padded.replace(/0+$/, '').padEnd(2, '0') : padded;
  return `${Number(whole).toLocaleString('en-US')}${trimmed ? `.${trimmed}` : ''}`;
}

export function usd(value: string | null | undefined): string {
  return value === null || value === undefined ? '—' : `$${money(value, 4)}`;
}

export function shortId(id: string | null | undefined, keep = 6): string {
  if (!id) return '—';
  return id.length <= keep * 2 + 1 ? id : `${id.slice(0, keep)}…${id.slice(-keep)}`;
}

export function when(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  return new Date(ms).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'medium' });
}

export function duration(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  const h = Math.floor(seconds / 3600);
  return h < 48 ? `${h} h ${Math.floor((seconds % 3600) / 60)} min` : `${Math.floor(h / 24)} days`;
}
