import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseDecimal } from '@idlegrid/domain';
import type { ScenarioReport } from '../../bench/src/economics-scenario-steps.ts';

const SCRIPT = fileURLToPath(new URL('../../bench/src/economics-scenario.ts', import.meta.url));
const TSX = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url));

function runScenario(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TSX, SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the economics scenario timed out; stderr: ${stderr}`));
    }, 540_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * `npm run scenario:economics -- --json` (issue "token economics"): a real local network with
 * short epochs, a busy, an idle and an unstaked device, and a fee change through governance.
 */
describe('the economics scenario', () => {
  it('mints stipends to staked devices, a usage bonus to the busy one, nothing to the unstaked one; applies the governed fee; conserves IO', async () => {
    const run = await runScenario(['--json', '--epochs', '3']);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as ScenarioReport;
    expect(report.conservation).toBe(true);
    expect(report.token.supplyIo).toBe(report.token.accountsTotalIo);
    expect(parseDecimal(report.token.supplyIo)).toBe(parseDecimal(report.token.mintedIo ?? '') - parseDecimal(report.token.burnedIo ?? ''));
    expect(report.governance_applied).toBe(true);
    expect(report.governance).toMatchObject({ in_force: '500', new_fee_charged: true });
    expect(report.epochs.length).toBeGreaterThanOrEqual(3);
    // The supplier's go / no-go answer, from the live network: an H100 at 0.12 USD/kWh.
    const est = report.estimate;
    expect(Object.keys(est.estimate)).toEqual(expect.arrayContaining(['io_per_day', 'usd_per_day', 'power_cost_usd_per_day', 'profit_usd_per_day', 'stake_required_io']));
    expect(est.network.devicesOnline).toBe(3);
    expect(est.estimate.stake_required_io).toBe('2000');

    for (const e of report.epochs) {
      const paid = e.devices.reduce((s, d) => s + parseDecimal(d.stipend_io) + parseDecimal(d.bonus_io), 0n);
      expect(paid + parseDecimal(e.treasury_io)).toBe(parseDecimal(e.emission_io));
      expect(e.mint_signatures).toBeGreaterThan(0);
      const unstaked = e.devices.find((d) => d.role === 'unstaked');
      expect(unstaked).toMatchObject({ stipend_io: '0', bonus_io: '0', ineligible: ['under_staked'] });
      expect(e.devices.find((d) => d.role === 'idle')?.bonus_io).toBe('0');
    }
    const later = report.epochs.slice(1);
    expect(later.some((e) => parseDecimal(e.devices.find((d) => d.role === 'busy')?.bonus_io ?? '0') > 0n)).toBe(true);
    expect(later.some((e) => parseDecimal(e.devices.find((d) => d.role === 'idle')?.stipend_io ?? '0') > 0n)).toBe(true);
    expect(later.some((e) => e.utilization_bps > 0)).toBe(true);
    // The fee change is recorded in the parameters of the epochs after it was applied.
    expect(report.epochs.at(-1)?.protocol_fee_bps).toBe('500');
  }, 600_000);
});
