import { mkdtemp } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeypair, signAgentMessage } from '@idlegrid/protocol';
import { loadCloudConfig } from '../config.ts';
import { startCloud, type RunningCloud } from '../server.ts';
import { TestAgent, until } from '../testing/test-agent.ts';
import { agentCases, type AgentCase, type AgentWorld } from './agent-cases.ts';
import { CorpusTally } from './corpus.ts';

/**
 * Hostile agent traffic against a real gateway on a real port: every case runs on its own
 * connection and must be answered with its coded error and a close (4000 + HTTP status), while
 * a well-behaved victim device stays online with its own session. Zero forgeries accepted.
 */
const MESSAGE_BURST = 200;
let cloud: RunningCloud;
let victim: TestAgent;
let victimBeat: NodeJS.Timeout;
let victimSession: number | undefined;

beforeAll(async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'idlegrid-hostile-agent-'));
  const config = loadCloudConfig({}, {
    port: 0, dataDir, nodeLossSeconds: 3, heartbeatSeconds: 0.2, helloTimeoutSeconds: 1, flushSeconds: 0.2,
    agentMessagesPerSecond: 20, agentMessageBurst: MESSAGE_BURST, headersTimeoutSeconds: 1,
  });
  cloud = await startCloud(config, { logger: pino({ level: 'silent' }) });
  victim = await TestAgent.connect(cloud.url);
  expect((await victim.hello()).type).toBe('welcome');
  victimBeat = setInterval(() => victim.heartbeat(), 200);
  await until(() => cloud.cloud.registry.get(victim.keypair.address) !== undefined, 3000, 'victim online');
  victimSession = cloud.cloud.registry.get(victim.keypair.address)?.sessionId;
});

afterAll(async () => {
  clearInterval(victimBeat);
  victim.close();
  await cloud.close();
});

async function world(): Promise<AgentWorld> {
  const other = await TestAgent.connect(cloud.url);
  const hello = JSON.stringify(signAgentMessage(other.keypair, other.helloBody(), other.nonce));
  other.sendRaw(hello);
  await other.next('welcome');
  const heartbeat = JSON.stringify(signAgentMessage(other.keypair, other.heartbeatBody(1), other.nonce));
  other.close();
  return { victim: victim.keypair, captured: { heartbeat, hello }, messageBurst: MESSAGE_BURST };
}

/** Runs one case on a fresh connection: the refusal frame and close code it got. */
async function run(c: AgentCase, w: AgentWorld): Promise<{ code: string | undefined; closeCode: number }> {
  const agent = await TestAgent.connect(cloud.url, c.keypair ?? generateKeypair());
  if (c.afterHello) expect((await agent.hello()).type).toBe('welcome');
  c.send(agent, w);
  const timeoutMs = (c.waitSeconds ?? 3) * 1000;
  const closeCode = await agent.closed(timeoutMs).catch(() => -1);
  const frame = agent.frames.find((f) => f.type === 'error');
  if (closeCode === -1) agent.close();
  return { code: frame?.code, closeCode };
}

describe('hostile agent corpus', () => {
  it('refuses every forged, replayed, reordered, oversized, malformed, unknown, slow and flooding connection with its code', async () => {
    const w = await world();
    const tally = new CorpusTally();
    const started = Date.now();
    const cases = agentCases(w);
    // Independent connections: run a few at a time (each waits for its own close).
    for (let i = 0; i < cases.length; i += 6) {
      await Promise.all(cases.slice(i, i + 6).map(async (c) => {
        const got = await run(c, w);
        const refused = got.closeCode === c.expect.closeCode && got.code === c.expect.code;
        tally.record(c.category, c.name, { refused, status: got.closeCode >= 4000 ? got.closeCode - 4000 : 0, detail: `expected ${c.expect.code ?? '(no frame)'} ${c.expect.closeCode}, got ${got.code ?? '(no frame)'} ${got.closeCode}` });
      }));
    }
    // Slow at the transport: the WebSocket upgrade request's headers never finish.
    const slow = await new Promise<number>((resolve) => {
      const t0 = Date.now();
      const socket = connect(cloud.port, '127.0.0.1', () => socket.write('GET /v1/agent HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n'));
      const drip = setInterval(() => socket.writable && socket.write(`X-Drip: ${Date.now()}\r\n`), 200);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        clearInterval(drip);
        resolve(Date.now() - t0);
      });
    });
    tally.record('slow hello', 'upgrade headers never finished', { refused: slow < 5000, status: 0, detail: `closed after ${slow} ms` });
    // A connection flood that never says hello: every one is closed by the hello timeout.
    const crowd = await Promise.all(Array.from({ length: 40 }, () => TestAgent.connect(cloud.url)));
    const codes = await Promise.all(crowd.map((a) => a.closed(5000).catch(() => -1)));
    for (const code of codes) tally.record('flood', '40 silent connections at once', { refused: code === 4408, status: code - 4000, detail: String(code) });

    console.log(`${tally.render('hostile agent corpus (real gateway)')}\n(${Date.now() - started} ms)`);
    expect(tally.failures).toEqual([]);
    expect(tally.totals.serverErrors).toBe(0);
    expect(tally.totals.tried).toBeGreaterThan(70);
    // No forgery took effect: the victim kept its one session, no forged device registered.
    expect(victim.closeCode).toBeUndefined();
    expect(cloud.cloud.registry.get(victim.keypair.address)?.sessionId).toBe(victimSession);
    const device = await cloud.store.devices.get(victim.keypair.address);
    expect(device?.payout).toBe(victim.keypair.address);
  });
});
