import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SupplyResponse } from '@idlegrid/protocol';
import { initialCoordinate } from '@idlegrid/scheduler';
import { exited, isAlive, runCli, startCli } from './cli-process.ts';

interface Ready {
  ready: boolean;
  url: string;
  workers: number;
  devices: string[];
  agentPids: number[];
}

let up: ChildProcess;
let ready: Ready;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  const root = await mkdtemp(join(tmpdir(), 'idlegrid-e2e-'));
  env = { ...process.env, IDLEGRID_HOME: join(root, 'home'), LOG_LEVEL: 'warn' };
  const started = await startCli<Ready>(['up', '--workers', '3', '--port', '0', '--data-dir', join(root, 'net'), '--json'], env);
  up = started.child;
  ready = started.first;
}, 180_000);

afterAll(() => {
  if (up.exitCode === null) {
    up.kill('SIGKILL');
    for (const pid of ready.agentPids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
});

async function search(): Promise<SupplyResponse> {
  const res = await runCli(['cloud', 'search', '--gpu', 'cpu', '--cloud', ready.url, '--json'], env);
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  return JSON.parse(res.stdout) as SupplyResponse;
}

describe('idlegrid up (real processes, real sockets)', () => {
  it('prints one ready line with the URL and the agents', () => {
    expect(ready).toMatchObject({ ready: true, workers: 3 });
    expect(ready.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.devices).toHaveLength(3);
  });

  it('lists the 3 online devices with their hardware in `cloud search`', async () => {
    const supply = await search();
    expect(supply.totals.devices).toBe(3);
    expect(new Set(supply.devices.map((d) => d.id))).toEqual(new Set(ready.devices));
    for (const d of supply.devices) {
      expect(d).toMatchObject({ status: 'online', gpuModel: 'cpu', slots: 1, region: 'local' });
      expect(d.hardware.cpu.cores).toBeGreaterThan(0);
      expect(d.hardware.memoryBytes).toBeGreaterThan(0);
    }
  });

  it('moves every device off its start coordinate after probing its peers over real sockets', async () => {
    // Agents start at their region's point; only a Vivaldi update from a measured RTT moves them.
    const moved = (d: SupplyResponse['devices'][number]) => {
      const start = initialCoordinate(d.region, d.id);
      const c = d.coordinate;
      return c !== null && Math.abs(c.x - start.x) + Math.abs(c.y - start.y) + Math.abs(c.h - start.h) > 1e-9;
    };
    const deadline = Date.now() + 20_000;
    let devices: SupplyResponse['devices'] = [];
    while (Date.now() < deadline) {
      devices = (await search()).devices;
      if (devices.length === 3 && devices.every(moved)) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(devices).toHaveLength(3);
    expect(devices.filter(moved)).toHaveLength(3);
  }, 30_000);

  it('quotes a 2-slot cluster, and explains why 5 slots cannot fit', async () => {
    const ok = await runCli(['cloud', 'quote', '--gpu', 'cpu', '--count', '2', '--hours', '1', '--cloud', ready.url, '--json'], env);
    expect(ok.code).toBe(0);
    const q = JSON.parse(ok.stdout) as { feasible: boolean; slots: number; devices: unknown[] };
    expect(q).toMatchObject({ feasible: true, slots: 2 });
    expect(q.devices).toHaveLength(2);
    const no = await runCli(['cloud', 'quote', '--gpu', 'cpu', '--count', '5', '--hours', '1', '--cloud', ready.url, '--json'], env);
    const why = JSON.parse(no.stdout) as { feasible: boolean; available: number; alternatives: Array<{ change: string }> };
    expect(why).toMatchObject({ feasible: false, available: 3 });
    expect(why.alternatives.map((a) => a.change)).toContain('count');
  });

  it('drops a SIGKILLed agent from the supply within node_loss_seconds + 5 s', async () => {
    const victim = ready.agentPids[0];
    if (victim === undefined) throw new Error('no agent pid');
    const killedAt = Date.now();
    process.kill(victim, 'SIGKILL');
    let remaining = 3;
    while (Date.now() - killedAt < 20_000) {
      remaining = (await search()).totals.devices;
      if (remaining === 2) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(remaining).toBe(2);
    expect(Date.now() - killedAt).toBeLessThan(20_000);
  }, 30_000);

  it('answers a bad flag with a one-line coded error and a non-zero exit', async () => {
    const res = await runCli(['cloud', 'search', '--gpu', 'H1000', '--cloud', ready.url, '--json'], env);
    expect(res.code).not.toBe(0);
    expect(res.stdout).toBe('');
    const line = res.stderr.trim().split('\n');
    expect(line).toHaveLength(1);
    expect(JSON.parse(line[0] ?? '{}')).toMatchObject({ error: { code: 'UNKNOWN_GPU_MODEL' } });
  });

  it('stops the whole network on SIGTERM, agents included', async () => {
    up.kill('SIGTERM');
    expect(await exited(up)).toBe(0);
    for (const pid of ready.agentPids) expect(isAlive(pid)).toBe(false);
  }, 30_000);
});
