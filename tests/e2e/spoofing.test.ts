import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceDetail, SupplyResponse } from '@idlegrid/protocol';
import { findNumpyPython } from '../../apps/agent/src/verify/numpy-python.ts';
import { loadCloudConfig } from '../../apps/cloud/src/config.ts';
import { startCloud, type RunningCloud } from '../../apps/cloud/src/server.ts';
import type { FraudEvent } from '../../apps/cloud/src/verification/verifier.ts';
import { CLI } from './cli-process.ts';

/**
 * Proof of GPU end to end: real agent processes (`idlegrid worker start`) against a real
 * control plane. One agent has a fake `nvidia-smi` first on PATH that prints a real H100's
 * output: it claims an H100, but has no CUDA (no torch here), so its kernel multiplies on
 * the CPU — it must fail, be suspended, trigger the fraud callback and never be supply.
 * An honest `cpu` agent passes and is listed.
 *
 * n = 2048 for GPU challenges: numpy needs ≈ 0.2–1 s on this CPU, against ≈ 50 ms for an H100.
 */
const FIXTURES = fileURLToPath(new URL('../../apps/agent/src/probe/fixtures/', import.meta.url));
const python = findNumpyPython(process.env);

let cloud: RunningCloud;
let root: string;
const frauds: FraudEvent[] = [];
const agents: ChildProcess[] = [];
const logs = new Map<ChildProcess, string>();

async function fakeNvidiaSmi(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const f of ['nvidia-smi-h100.csv', 'nvidia-smi-h100.txt', 'nvidia-smi-h100.xml']) await copyFile(join(FIXTURES, f), join(dir, f));
  const script = [
    '#!/bin/sh',
    `here=${JSON.stringify(dir)}`,
    'case "$*" in',
    '  *--query-gpu*) cat "$here/nvidia-smi-h100.csv" ;;',
    '  *-x*) cat "$here/nvidia-smi-h100.xml" ;;',
    '  *) cat "$here/nvidia-smi-h100.txt" ;;',
    'esac',
    '',
  ].join('\n');
  await writeFile(join(dir, 'nvidia-smi'), script);
  await chmod(join(dir, 'nvidia-smi'), 0o755);
}

/** Starts `idlegrid worker start` and resolves with the device id it announces. */
function startWorker(name: string, env: NodeJS.ProcessEnv): Promise<string> {
  const dir = join(root, name);
  const child = spawn(process.execPath, [CLI, 'worker', 'start', '--json', '--cloud', cloud.url, '--data-dir', dir, '--region', 'local'], {
    env: { ...env, IDLEGRID_HOME: join(dir, 'home'), LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  agents.push(child);
  logs.set(child, '');
  child.stderr?.on('data', (d: Buffer) => logs.set(child, (logs.get(child) ?? '') + d.toString()));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start; stderr: ${logs.get(child)}`)), 60_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { deviceId: string }).deviceId);
      }
    });
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}; stderr: ${logs.get(child)}`)));
  });
}

async function get<T>(path: string): Promise<T> {
  return (await (await fetch(`${cloud.url}${path}`)).json()) as T;
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'idlegrid-spoof-'));
  const config = loadCloudConfig({}, { port: 0, dataDir: join(root, 'cloud'), verifyGpuN: 2048, verifyCpuN: 256, verifyAllowanceMs: 60_000 });
  cloud = await startCloud(config, { logger: pino({ level: 'silent' }), onFraud: (e) => frauds.push(e) });
}, 60_000);

afterAll(async () => {
  for (const a of agents) if (a.exitCode === null) a.kill('SIGTERM');
  await Promise.all(agents.filter((a) => a.exitCode === null).map((a) => new Promise((r) => a.once('exit', r))));
  await cloud?.close();
}, 60_000);

describe(`proof of GPU: a spoofed H100 against an honest cpu agent (${python ? `kernel via ${python}` : 'SKIPPED: no python with numpy; run scripts/setup-ray.sh'})`, () => {
  it.skipIf(!python)('suspends the spoofer (too slow on the CPU), slashes it, keeps it out of supply; the honest agent is listed', async () => {
    const fakeBin = join(root, 'fake-bin');
    await fakeNvidiaSmi(fakeBin);
    const base = { ...process.env, IDLEGRID_PYTHON: python ?? '' };
    const [spoofer, honest] = await Promise.all([
      startWorker('spoofer', { ...base, PATH: `${fakeBin}:${process.env['PATH'] ?? ''}` }),
      startWorker('honest', base),
    ]);

    await until(async () => (await get<DeviceDetail>(`/v1/devices/${honest}`)).verification.status === 'verified', 60_000, 'the honest agent to pass');
    await until(async () => (await get<DeviceDetail>(`/v1/devices/${spoofer}`)).verification.status === 'suspended', 90_000, 'the spoofer to be suspended');

    const spoofed = await get<DeviceDetail>(`/v1/devices/${spoofer}`);
    expect(spoofed).toMatchObject({ gpuModel: 'H100', slots: 1, verified: false });
    expect(spoofed.hardware.gpus[0]?.name).toContain('H100');
    const [failed] = spoofed.verification.recent;
    expect(failed).toMatchObject({ verdict: 'failed', reason: 'too_slow', gpuModel: 'H100', n: 2048 });
    expect(failed?.elapsedMs ?? 0).toBeGreaterThan(failed?.limitMs ?? Infinity);
    expect(spoofed.verification).toMatchObject({ failed: 1, passed: 0, suspended: { reason: 'too_slow', verificationId: failed?.id } });
    expect(frauds).toEqual([{ deviceId: spoofer, verificationId: failed?.id, reason: 'too_slow' }]);
    // The agent said why it would fail: a GPU claim computed on the CPU.
    const spooferLog = logs.get(agents[0] as ChildProcess) ?? '';
    expect(spooferLog).toContain('will fail the timing check');

    const fair = await get<DeviceDetail>(`/v1/devices/${honest}`);
    expect(fair).toMatchObject({ gpuModel: 'cpu', verified: true });
    expect(fair.verification).toMatchObject({ status: 'verified', passed: 1, failed: 0, suspended: null });

    const supply = await get<SupplyResponse>('/v1/supply');
    expect(supply.devices.map((d) => d.id)).toEqual([honest]);
    expect(supply.groups.map((g) => g.gpuModel)).toEqual(['cpu']);
    expect((await get<SupplyResponse>('/v1/supply?gpu=H100')).totals.devices).toBe(0);
    const quote = await fetch(`${cloud.url}/v1/quotes`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ gpu: 'H100', count: 1, hours: 1 }),
    });
    expect(((await quote.json()) as { feasible: boolean }).feasible).toBe(false);
  }, 240_000);
});
