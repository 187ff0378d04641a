import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeypair, signAgentMessage } from '@idlegrid/protocol';
import { loadCloudConfig } from '../config.ts';
import { startCloud, type RunningCloud } from '../server.ts';
import { TestAgent, until } from '../testing/test-agent.ts';

let cloud: RunningCloud;
let bystander: TestAgent;
let bystanderBeat: NodeJS.Timeout;

beforeAll(async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'idlegrid-gw-'));
  const config = loadCloudConfig({}, { port: 0, dataDir, nodeLossSeconds: 1, heartbeatSeconds: 0.2, helloTimeoutSeconds: 1, flushSeconds: 0.2 });
  cloud = await startCloud(config, { logger: pino({ level: 'silent' }) });
  // A well-behaved agent that keeps heartbeating through every attack below.
  bystander = await TestAgent.connect(cloud.url);
  expect((await bystander.hello()).type).toBe('welcome');
  bystanderBeat = setInterval(() => bystander.heartbeat(), 100);
});

afterAll(async () => {
  clearInterval(bystanderBeat);
  bystander.close();
  await cloud.close();
});

async function refused(agent: TestAgent, code: string): Promise<void> {
  const frame = await agent.next('error');
  expect(frame.code).toBe(code);
  const closeCode = await agent.closed();
  expect(closeCode).toBeGreaterThanOrEqual(4400);
}

describe('agent gateway', () => {
  it('welcomes a correctly signed hello and keeps the device online while it heartbeats', async () => {
    const agent = await TestAgent.connect(cloud.url);
    const welcome = await agent.hello();
    expect(welcome).toMatchObject({ type: 'welcome', deviceId: agent.keypair.address });
    for (let i = 0; i < 3; i++) agent.heartbeat();
    await until(() => cloud.cloud.registry.get(agent.keypair.address) !== undefined, 2000, 'registration');
    agent.close();
    await until(() => cloud.cloud.registry.get(agent.keypair.address) === undefined, 3000, 'removal on close');
  });

  it('refuses a forged signature on a heartbeat', async () => {
    const agent = await TestAgent.connect(cloud.url);
    await agent.hello();
    agent.heartbeat(1, generateKeypair());
    await refused(agent, 'AGENT_BAD_SIGNATURE');
  });

  it('refuses a replayed seq', async () => {
    const agent = await TestAgent.connect(cloud.url);
    await agent.hello();
    const first = JSON.stringify(signAgentMessage(agent.keypair, agent.heartbeatBody(1), agent.nonce));
    agent.sendRaw(first);
    agent.sendRaw(first);
    await refused(agent, 'AGENT_SEQ_REPLAY');
  });

  it('refuses an out-of-order seq that skips ahead', async () => {
    const agent = await TestAgent.connect(cloud.url);
    await agent.hello();
    agent.heartbeat(1);
    agent.heartbeat(3);
    await refused(agent, 'AGENT_SEQ_GAP');
  });

  it('refuses a message captured on another connection (signatures are bound to the nonce)', async () => {
    const first = await TestAgent.connect(cloud.url);
    await first.hello();
    const captured = JSON.stringify(signAgentMessage(first.keypair, first.heartbeatBody(1), first.nonce));
    first.close();
    const second = await TestAgent.connect(cloud.url, first.keypair);
    expect((await second.hello()).type).toBe('welcome');
    second.sendRaw(captured);
    await refused(second, 'AGENT_BAD_SIGNATURE');
  });

  it('refuses a hello replayed from an earlier connection', async () => {
    const first = await TestAgent.connect(cloud.url);
    const oldHello = JSON.stringify(signAgentMessage(first.keypair, first.helloBody(), first.nonce));
    first.close();
    const attacker = await TestAgent.connect(cloud.url, first.keypair);
    attacker.sendRaw(oldHello);
    await refused(attacker, 'AGENT_MALFORMED');
  });

  it('refuses a hello for a key the agent does not hold', async () => {
    const agent = await TestAgent.connect(cloud.url);
    const someoneElse = generateKeypair();
    await agent.hello({ deviceKey: someoneElse.address }, agent.keypair);
    expect(agent.closeCode ?? (await agent.closed())).toBe(4401);
    expect(cloud.cloud.registry.get(someoneElse.address)).toBeUndefined();
  });

  it('refuses malformed JSON', async () => {
    const agent = await TestAgent.connect(cloud.url);
    agent.sendRaw('{"type": "hello", ');
    await refused(agent, 'AGENT_MALFORMED');
  });

  it('refuses a message that is not an object with a type', async () => {
    const agent = await TestAgent.connect(cloud.url);
    agent.sendRaw('[1,2,3]');
    await refused(agent, 'AGENT_MALFORMED');
  });

  it('refuses an oversized message', async () => {
    const agent = await TestAgent.connect(cloud.url);
    await agent.hello();
    agent.sendRaw(JSON.stringify({ type: 'heartbeat', pad: 'x'.repeat(100 * 1024) }));
    await refused(agent, 'AGENT_MESSAGE_TOO_LARGE');
  });

  it('refuses an unknown message type', async () => {
    const agent = await TestAgent.connect(cloud.url);
    await agent.hello();
    agent.sendRaw(JSON.stringify(signAgentMessage(agent.keypair, { type: 'mine-bitcoin', seq: 1 }, agent.nonce)));
    await refused(agent, 'AGENT_UNKNOWN_MESSAGE');
  });

  it('refuses anything before hello', async () => {
    const agent = await TestAgent.connect(cloud.url);
    agent.heartbeat(1);
    await refused(agent, 'AGENT_NOT_HELLO');
  });

  it('refuses a hello whose fields fail validation (unknown region, bad price)', async () => {
    const a = await TestAgent.connect(cloud.url);
    await a.hello({ region: 'mars-north' });
    expect(a.closeCode ?? (await a.closed())).toBe(4400);
    const b = await TestAgent.connect(cloud.url);
    await b.hello({ pricePerGpuHour: '-3' });
    expect(b.closeCode ?? (await b.closed())).toBe(4400);
  });

  it('closes a connection that never says hello', async () => {
    const agent = await TestAgent.connect(cloud.url);
    await refused(agent, 'AGENT_HELLO_TIMEOUT');
  });

  it('replaces an older connection of the same device', async () => {
    const keypair = generateKeypair();
    const first = await TestAgent.connect(cloud.url, keypair);
    await first.hello();
    const second = await TestAgent.connect(cloud.url, keypair);
    expect((await second.hello()).type).toBe('welcome');
    await refused(first, 'AGENT_REPLACED');
    second.heartbeat(1);
    await until(() => cloud.cloud.registry.get(keypair.address)?.sessionId !== undefined, 2000, 'second session live');
    second.close();
  });

  it('declares a silent device offline after node_loss_seconds and records it', async () => {
    const agent = await TestAgent.connect(cloud.url);
    await agent.hello();
    const id = agent.keypair.address;
    await until(() => cloud.cloud.registry.get(id) !== undefined, 2000, 'online');
    await refused(agent, 'AGENT_SILENT');
    expect(cloud.cloud.registry.get(id)).toBeUndefined();
    await until(async () => (await cloud.store.devices.get(id))?.status === 'offline', 3000, 'stored offline');
  });

  it('left the well-behaved agent online through all of the above', async () => {
    expect(bystander.closeCode).toBeUndefined();
    expect(cloud.cloud.registry.get(bystander.keypair.address)).toBeDefined();
    const supply = (await (await fetch(`${cloud.url}/v1/supply?gpu=cpu`)).json()) as { devices: Array<{ id: string }> };
    expect(supply.devices.map((d) => d.id)).toContain(bystander.keypair.address);
  });
});
