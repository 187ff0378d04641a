import { IdlegridError, isIdlegridError } from '@idlegrid/domain';

/** Options every command accepts. */
export interface GlobalOptions {
  json?: boolean;
  cloud?: string;
}

/** Prints a command's result: one JSON document with --json, else the human rendering. */
export function emit(opts: GlobalOptions, data: unknown, human: () => string): void {
  if (opts.json) process.stdout.write(`${JSON.stringify(data, jsonReplacer)}\n`);
  else process.stdout.write(`${human()}\n`);
}

export function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/** Writes a one-line reason to stderr (JSON with --json) and returns the exit code. */
export function reportError(err: unknown, json: boolean): number {
  const error = isIdlegridError(err)
    ? err
    : new IdlegridError('INTERNAL', { reason: err instanceof Error ? err.message : String(err) });
  if (json) process.stderr.write(`${JSON.stringify({ error: error.toJSON() })}\n`);
  else process.stderr.write(`idlegrid: ${error.message} [${error.code}]\n`);
  return 1;
}

/** Renders rows as an aligned text table. */
export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

/** A one-line progress indicator on a TTY (stderr); silent otherwise or with --json. */
export function progress(opts: GlobalOptions): { update(text: string): void; done(text?: string): void } {
  const active = !opts.json && process.stderr.isTTY;
  let last = '';
  return {
    update(text) {
      if (!active || text === last) return;
      last = text;
      process.stderr.write(`\r\x1b[2K${text}`);
    },
    done(text) {
      if (!active) return;
      process.stderr.write(`\r\x1b[2K${text ? `${text}\n` : ''}`);
    },
  };
}
