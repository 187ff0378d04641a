// Settlement benchmark: `npm run bench:settlement -- --json` prints one JSON object;
// without --json, a short readable summary. Settles N payouts through the embedded
// (LiteSVM) ledger's payBatch, one batch per settlement interval, each with a memo, a
// treasury share and a burn, and reports payouts/s, transactions per 1,000 payouts and
// fee lamports per payout (recipients' token accounts are created in an untimed warm-up).
// Options: --payouts N (default 10000), --batch-size N (payouts per batch, default 1000),
// --recipients N (distinct wallets paid round-robin, default min(payouts, 1000)),
// --no-persist (keep the chain in memory instead of saving it after every batch).
// End to end as the control plane does it: every payment transaction is recorded in a SQLite
// store (the control plane's idempotency table) before it is sent.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { benchSettlement, type SettlementBenchOptions } from '@idlegrid/chain';
import { openStore } from '@idlegrid/store';
import { storeIdempotency } from '@idlegrid/cloud';

const argv = process.argv.slice(2);
const json = argv.includes('--json');
const log = (line: string): void => {
  if (!json) console.log(line);
};

/** The positive integer after `flag` (also `flag=N`), or undefined when the flag is absent. */
function intOption(flag: string): number | undefined {
  const i = argv.findIndex((a) => a === flag || a.startsWith(`${flag}=`));
  if (i < 0) return undefined;
  const arg = argv[i] ?? '';
  const raw = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[i + 1];
  const value = Number(raw);
  if (raw === undefined || !Number.isSafeInteger(value) || value <= 0) {
    console.error(`settlement-bench: ${flag} expects a positive integer, got ${raw ?? 'nothing'}`);
    process.exit(2);
  }
  return value;
}

const payouts = intOption('--payouts') ?? 10_000;
const batchSize = intOption('--batch-size') ?? 1_000;
const recipients = Math.min(intOption('--recipients') ?? 1_000, payouts);
const storeDir = mkdtempSync(join(os.tmpdir(), 'idlegrid-settle-bench-'));
const store = await openStore({ kind: 'sqlite', path: join(storeDir, 'idlegrid.sqlite') });
const options: SettlementBenchOptions = { payouts, batchSize, recipients, persist: !argv.includes('--no-persist'), idempotency: storeIdempotency(store) };

const round = (value: number, digits = 3): number => Number(value.toFixed(digits));
const started = performance.now();
log(`settling ${payouts} payouts on the embedded chain: batches of ${batchSize}, ${recipients} recipients, persist ${String(options.persist)}…`);
const bench = await benchSettlement(options).finally(async () => {
  await store.close();
  rmSync(storeDir, { recursive: true, force: true });
});

const result = {
  ...bench,
  recorded_in: 'sqlite',
  batch_size: batchSize,
  recipients,
  node: process.version,
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cpus: os.cpus().length,
  load_avg_1m: round(os.loadavg()[0] ?? 0, 2),
  total_s: round((performance.now() - started) / 1000, 1),
};

if (json) {
  console.log(JSON.stringify(result));
} else {
  log(`  ${result.payouts_per_s} payouts/s (${result.ms_per_batch} ms per batch of ${result.batch_size})`);
  log(`  ${result.tx_per_1000_payouts} transactions per 1,000 payouts (${result.transfers_per_tx} transfers per transaction)`);
  log(`  ${result.fee_lamports_per_payout} lamports of fees per payout; a first payout to a new wallet costs ${result.new_recipient_lamports} lamports once (token account rent + setup)`);
  log(`total ${String(result.total_s)} s`);
}
