import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { toDeviceId, type Address } from '@idlegrid/domain';
import type { AgentHandle } from './agent.ts';
import { installSignalHandlers, type SignalTarget } from './signals.ts';
import { fixtureHardware, waitFor } from './testing/test-gateway.ts';
import { AGENT_VERSION } from './version.ts';

async function fakeHandle(stop: () => Promise<void>): Promise<AgentHandle & { stops: number }> {
  const handle = {
    deviceId: toDeviceId('11111111111111111111111111111111' as Address),
    hardware: await fixtureHardware(),
    pricePerGpuHour: '2.00',
    payout: '11111111111111111111111111111111',
    echoPort: 7946,
    coordinate: { x: 0, y: 0, h: 0.5, error: 1 },
    state: 'online' as const,
    stops: 0,
    leases: () => [],
    onState: () => () => undefined,
    stop: () => {
      handle.stops += 1;
      return stop();
    },
  };
  return handle;
}

function fakeProcess(): SignalTarget & EventEmitter {
  return new EventEmitter() as SignalTarget & EventEmitter;
}

describe('installSignalHandlers', () => {
  const logger = pino({ level: 'silent' });

  it('stops the agent once on SIGINT or SIGTERM and exits 0', async () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const target = fakeProcess();
      const exits: number[] = [];
      const handle = await fakeHandle(() => Promise.resolve());
      const remove = installSignalHandlers(handle, logger, { target, exit: (code) => exits.push(code) });
      target.emit(signal, signal);
      await waitFor(() => exits.length > 0, 'exit');
      expect(exits).toEqual([0]);
      expect(handle.stops).toBe(1);
      remove();
      expect(target.listenerCount('SIGINT') + target.listenerCount('SIGTERM')).toBe(0);
    }
  });

  it('exits 1 on a second signal while stopping, and when stopping fails', async () => {
    const target = fakeProcess();
    const exits: number[] = [];
    let finish: () => void = () => undefined;
    const handle = await fakeHandle(() => new Promise<void>((resolve) => (finish = resolve)));
    installSignalHandlers(handle, logger, { target, exit: (code) => exits.push(code) });
    target.emit('SIGTERM', 'SIGTERM');
    target.emit('SIGINT', 'SIGINT');
    expect(exits).toEqual([1]);
    expect(handle.stops).toBe(1);
    finish();

    const failing = fakeProcess();
    const failExits: number[] = [];
    installSignalHandlers(await fakeHandle(() => Promise.reject(new Error('stuck'))), logger, { target: failing, exit: (code) => failExits.push(code) });
    failing.emit('SIGINT', 'SIGINT');
    await waitFor(() => failExits.length > 0, 'exit');
    expect(failExits).toEqual([1]);
  });
});

describe('AGENT_VERSION', () => {
  it('matches package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(AGENT_VERSION).toBe(pkg.version);
  });
});
