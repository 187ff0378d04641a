import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toDeviceId } from '@idlegrid/domain';
import { parseChallengeSeed, solveChallenge } from '@idlegrid/economics';
import { signAgentMessage, type DeviceDetail, type HardwareReport } from '@idlegrid/protocol';
import { loadCloudConfig } from '../config.ts';
import { startCloud, type RunningCloud } from '../server.ts';
import { CPU_HARDWARE, TestAgent, until, type ServerFrame } from '../testing/test-agent.ts';
import type { FraudEvent } from './verifier.ts';

const H100_HARDWARE: HardwareReport = {
  ...CPU_HARDWARE,
  gpus: [{
    index: 0, name: 'NVIDIA H100 80GB HBM3', model: 'H100', uuid: 'GPU-00000000-0000-0000-0000-000000000001', memoryMiB: 81_559,
    driverVersion: '550.54.15', cudaVersion: '12.4', pcieGen: 5, pcieWidth: 16, powerLimitW: 700, computeCapability: '9.0',
  }],
  offer: { model: 'H100', slots: 1 },
};

/** The same checksum with its sketch one off (a wrong value in the row). */
const bumpSketch = (checksum: string): string => {
  const [sketch, digest] = checksum.split(':');
  return `${(Number(sketch) + 1) % 65_521}:${digest ?? ''}`;
};

let cloud: RunningCloud;
const frauds: FraudEvent[] = [];

beforeAll(async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'idlegrid-verify-'));
  const config = loadCloudConfig({}, {
    port: 0, dataDir, heartbeatSeconds: 0.2, flushSeconds: 0.2, verifyCpuN: 64, verifyGpuN: 64, verifyAllowanceMs: 1_500, verifySeconds: 0.3,
  });
  cloud = await startCloud(config, { logger: pino({ level: 'silent' }), onFraud: (e) => frauds.push(e) });
});

afterAll(async () => {
  await cloud.close();
});

async function connect(hardware: HardwareReport = CPU_HARDWARE): Promise<TestAgent> {
  const agent = await TestAgent.connect(cloud.url);
  expect((await agent.hello({ hardware })).type).toBe('welcome');
  return agent;
}

/** Answers the next challenge by hand (the agent has not heartbeated, so it does not answer by itself). */
async function answer(agent: TestAgent, make: (honest: string[]) => { checksums: string[]; elapsedMs: number }): Promise<ServerFrame> {
  const frame = await agent.next('verify');
  const honest = solveChallenge(parseChallengeSeed(String(frame['seed'])), Number(frame['n']));
  const body = { type: 'verify-result', seq: ++agent.seq, challengeId: String(frame['challengeId']), ...make(honest) };
  agent.sendRaw(JSON.stringify(signAgentMessage(agent.keypair, body, agent.nonce)));
  return frame;
}

async function verdictOf(challengeId: string): Promise<string> {
  let verdict = 'pending';
  await until(async () => {
    verdict = (await cloud.store.verifications.get(challengeId))?.verdict ?? 'pending';
    return verdict !== 'pending';
  }, 5_000, `verdict of ${challengeId}`);
  return verdict;
}

async function inSupply(id: string): Promise<boolean> {
  const supply = (await (await fetch(`${cloud.url}/v1/supply`)).json()) as { devices: Array<{ id: string }> };
  return supply.devices.some((d) => d.id === id);
}

async function detail(id: string): Promise<DeviceDetail> {
  return (await (await fetch(`${cloud.url}/v1/devices/${id}`)).json()) as DeviceDetail;
}

describe('proof of GPU on the control plane', () => {
  it('keeps a new device out of supply until it passes, then lists it and re-challenges it at random times', async () => {
    const agent = await connect();
    const id = agent.keypair.address;
    const frame = await agent.next('verify');
    expect(frame).toMatchObject({ n: 64 });
    expect(await inSupply(id)).toBe(false);
    expect((await detail(id)).verification.status).toBe('pending');
    agent.frames.unshift(frame);
    const beat = setInterval(() => agent.heartbeat(), 100);
    try {
      await until(() => cloud.cloud.registry.get(id)?.verified === true, 5_000, 'verified');
      expect(await inSupply(id)).toBe(true);
      expect(await cloud.store.devices.get(toDeviceId(id))).toMatchObject({ verified: true });
      await until(() => agent.answered.size >= 2, 5_000, 'a re-challenge');
      const view = (await detail(id)).verification;
      expect(view).toMatchObject({ status: 'verified', failed: 0, suspended: null });
      expect(view.passed).toBeGreaterThanOrEqual(1);
      expect(view.recent[view.recent.length - 1]).toMatchObject({ verdict: 'passed', n: 64, gpuModel: 'cpu', reason: null });
    } finally {
      clearInterval(beat);
      agent.close();
    }
  });

  it.each([
    ['forged checksums', (honest: string[]) => ({ checksums: honest.map((c, i) => (i === 5 ? bumpSketch(c) : c)), elapsedMs: 1 }), ['freivalds']],
    ['a row missing', (honest: string[]) => ({ checksums: honest.slice(1), elapsedMs: 1 }), ['count']],
    ['right sketches, invented digests', (honest: string[]) => ({ checksums: honest.map((c) => `${c.split(':')[0]}:0123456789abcdef`), elapsedMs: 1 }), ['spot_check']],
  ])('suspends a device that answers with %s, calls the fraud callback, and keeps it out after a reconnect', async (_what, make, reasons) => {
    const agent = await connect();
    const id = agent.keypair.address;
    const frame = await answer(agent, make);
    const challengeId = String(frame['challengeId']);
    expect(await verdictOf(challengeId)).toBe('failed');
    const record = await cloud.store.verifications.get(challengeId);
    expect(reasons).toContain(record?.reason);
    await until(() => frauds.some((f) => f.verificationId === challengeId), 2_000, 'fraud callback');
    expect(frauds.find((f) => f.verificationId === challengeId)).toMatchObject({ deviceId: id, reason: record?.reason });
    expect(await inSupply(id)).toBe(false);
    expect((await detail(id)).verification).toMatchObject({ status: 'suspended', failed: 1, suspended: { verificationId: challengeId } });
    agent.close();
    await until(() => cloud.cloud.registry.get(id) === undefined, 3_000, 'gone');
    const again = await TestAgent.connect(cloud.url, agent.keypair);
    expect((await again.hello()).type).toBe('welcome');
    again.heartbeat();
    await new Promise((r) => setTimeout(r, 300));
    expect(again.frames.some((f) => f.type === 'verify')).toBe(false);
    expect(await inSupply(id)).toBe(false);
    again.close();
  });

  it('fails an H100 claim computed at CPU speed (too slow), with the limit recorded', async () => {
    const agent = await connect(H100_HARDWARE);
    const frame = await answer(agent, (honest) => ({ checksums: honest, elapsedMs: 900 }));
    const challengeId = String(frame['challengeId']);
    expect(await verdictOf(challengeId)).toBe('failed');
    const record = await cloud.store.verifications.get(challengeId);
    expect(record).toMatchObject({ reason: 'too_slow', gpuModel: 'H100', elapsedMs: 900 });
    expect(record?.limitMs).toBeLessThan(900);
    expect(frauds.some((f) => f.verificationId === challengeId && f.reason === 'too_slow')).toBe(true);
    agent.close();
  });

  it('fails a device that never answers (deadline)', async () => {
    const agent = await connect();
    const frame = await agent.next('verify');
    const challengeId = String(frame['challengeId']);
    const beat = setInterval(() => agent.sendRaw(JSON.stringify(signAgentMessage(agent.keypair, agent.heartbeatBody(++agent.seq), agent.nonce))), 200);
    try {
      expect(await verdictOf(challengeId)).toBe('failed');
      expect(await cloud.store.verifications.get(challengeId)).toMatchObject({ reason: 'deadline', answeredAtMs: null });
    } finally {
      clearInterval(beat);
      agent.close();
    }
  }, 15_000);

  it('cancels a challenge when the device leaves, without a verdict, and challenges it again when it is back', async () => {
    const agent = await connect();
    const frame = await agent.next('verify');
    agent.close();
    const challengeId = String(frame['challengeId']);
    expect(await verdictOf(challengeId)).toBe('cancelled');
    expect(await cloud.store.verifications.get(challengeId)).toMatchObject({ reason: 'disconnected' });
    const back = await TestAgent.connect(cloud.url, agent.keypair);
    await back.hello();
    const second = await back.next('verify');
    expect(second['challengeId']).not.toBe(challengeId);
    back.close();
  });

  it('ignores an answer to a challenge it did not send', async () => {
    const agent = await connect();
    await agent.next('verify');
    const body = { type: 'verify-result', seq: ++agent.seq, challengeId: 'vrf_made_up', checksums: [], elapsedMs: 1 };
    agent.sendRaw(JSON.stringify(signAgentMessage(agent.keypair, body, agent.nonce)));
    await new Promise((r) => setTimeout(r, 200));
    expect(agent.closeCode).toBeUndefined();
    expect(frauds.some((f) => f.deviceId === agent.keypair.address)).toBe(false);
    agent.close();
  });
});
