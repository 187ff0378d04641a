// Economics scenario: `npm run scenario:economics -- --json` prints one JSON object (without
// --json, progress and a readable summary on stderr/stdout). It runs a real local network
// (`idlegrid up`: control plane, embedded chain, 3 agents with real Ray) with short epochs and
// drives it only through the `idlegrid` CLI and the public API, as a buyer and a supplier would:
//   - a buyer deposits IO and books a 1-node cluster (that device is "busy"),
//   - a supplier stakes two devices ("busy" and "idle"); the third stays "unstaked",
//   - the supplier proposes protocol_fee_bps 250 → 500 and votes yes,
// then waits for several epochs and reports each epoch's utilization and emission and each
// device's stipend, bonus and tier; whether the fee change was applied at an epoch boundary and
// settlement batches after it charged the new fee (`governance_applied`); and whether the IO
// supply equals minted − burned equals the sum of all balances (`conservation`).
// Options: --epochs N (closed epochs to observe after staking, default 4), --epoch-seconds S (default 20).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { scenarioOptions, runScenario } from './economics-scenario-steps.ts';

const argv = process.argv.slice(2);
const options = scenarioOptions(argv);
const root = mkdtempSync(join(os.tmpdir(), 'idlegrid-economics-'));
const log = (line: string): void => {
  if (!options.json) process.stderr.write(`${line}\n`);
};

try {
  const report = await runScenario(root, options, log);
  if (options.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.exitCode = report.governance_applied && report.conservation ? 0 : 1;
} catch (err) {
  process.stderr.write(`economics scenario failed: ${err instanceof Error ? err.message : String(err)}\n(data kept in ${root})\n`);
  process.exitCode = 1;
}
if (process.exitCode === 0 && !options.keep) rmSync(root, { recursive: true, force: true });
