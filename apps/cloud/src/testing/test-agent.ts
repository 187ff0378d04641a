import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { deriveChallengeMatrices, multiplyMod, parseChallengeSeed, rowChecksums } from '@idlegrid/economics';
import { generateKeypair, signAgentMessage, type HardwareReport, type Keypair } from '@idlegrid/protocol';

export const CPU_HARDWARE: HardwareReport = {
  gpus: [],
  cpu: { model: 'Test CPU', cores: 4 },
  memoryBytes: 8 * 2 ** 30,
  os: { platform: 'linux', release: '6.1', arch: 'x64' },
  offer: { model: 'cpu', slots: 1 },
};

export interface ServerFrame {
  type: string;
  code?: string;
  [key: string]: unknown;
}

/**
 * A hand-driven agent connection for gateway tests: it can speak the protocol correctly,
 * or break it on purpose. It answers proof-of-GPU challenges honestly (the cpu class's
 * product, in process) like an agent that is online: once it has sent its first
 * heartbeat, so that tests which send hand-numbered messages right after hello keep
 * control of the seq numbers. Answered `verify` frames stay in `frames` too.
 */
export class TestAgent {
  readonly frames: ServerFrame[] = [];
  /** Challenges answered (challenge id → the verify-result's seq). */
  readonly answered = new Map<string, number>();
  private readonly unanswered: ServerFrame[] = [];
  closeCode: number | undefined;
  nonce = '';
  seq = 0;
  private constructor(
    readonly socket: WebSocket,
    readonly keypair: Keypair,
  ) {}

  static async connect(url: string, keypair: Keypair = generateKeypair()): Promise<TestAgent> {
    const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/agent`);
    const agent = new TestAgent(socket, keypair);
    socket.on('message', (data: Buffer) => agent.receive(JSON.parse(data.toString()) as ServerFrame));
    socket.on('close', (code) => {
      agent.closeCode = code;
    });
    const challenge = await agent.next('challenge');
    agent.nonce = String(challenge['nonce']);
    return agent;
  }

  helloBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      type: 'hello',
      nonce: this.nonce,
      deviceKey: this.keypair.address,
      agentVersion: 'test',
      protocolVersion: 1,
      hardware: CPU_HARDWARE,
      region: 'local',
      pricePerGpuHour: '0.25',
      payout: this.keypair.address,
      ...overrides,
    };
  }

  async hello(overrides: Record<string, unknown> = {}, signer: Keypair = this.keypair): Promise<ServerFrame> {
    this.sendRaw(JSON.stringify(signAgentMessage(signer, this.helloBody(overrides), this.nonce)));
    return this.next();
  }

  heartbeatBody(seq: number): Record<string, unknown> {
    return {
      type: 'heartbeat',
      seq,
      sentAt: Date.now(),
      load: { cpu: 0.1, memoryUsedBytes: 1, gpuUtilization: [] },
      coordinate: null,
      leases: [],
    };
  }

  heartbeat(seq = this.seq + 1, signer: Keypair = this.keypair): void {
    this.seq = Math.max(this.seq, seq);
    this.sendRaw(JSON.stringify(signAgentMessage(signer, this.heartbeatBody(seq), this.nonce)));
    if (this.unanswered.length > 0) setTimeout(() => this.answerPending(), 0);
  }

  private receive(frame: ServerFrame): void {
    this.frames.push(frame);
    if (frame.type !== 'verify') return;
    this.unanswered.push(frame);
    if (this.seq > 0) setTimeout(() => this.answerPending(), 0);
  }

  /** Computes and sends the answer to every challenge received so far (honest cpu-class work). */
  private answerPending(): void {
    for (const frame of this.unanswered.splice(0)) {
      if (this.socket.readyState !== WebSocket.OPEN) return;
      const seed = parseChallengeSeed(String(frame['seed']));
      const { a, b } = deriveChallengeMatrices(seed, Number(frame['n']));
      const start = performance.now();
      const c = multiplyMod(a, b);
      const elapsedMs = performance.now() - start;
      const seq = ++this.seq;
      const body = { type: 'verify-result', seq, challengeId: String(frame['challengeId']), checksums: rowChecksums(seed, c), elapsedMs };
      this.sendRaw(JSON.stringify(signAgentMessage(this.keypair, body, this.nonce)));
      this.answered.set(body.challengeId, seq);
    }
  }

  sendRaw(data: string | Buffer): void {
    this.socket.send(data);
  }

  /** Waits for the next frame (of a type, if given) not yet consumed. */
  async next(type?: string, timeoutMs = 5000): Promise<ServerFrame> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const index = this.frames.findIndex((f) => type === undefined || f.type === type);
      if (index >= 0) return this.frames.splice(index, 1)[0] as ServerFrame;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no ${type ?? 'frame'} within ${timeoutMs} ms (got ${JSON.stringify(this.frames)})`);
  }

  async closed(timeoutMs = 5000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.closeCode === undefined) {
      if (Date.now() > deadline) throw new Error('socket did not close');
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.closeCode;
  }

  close(): void {
    this.socket.close(1000);
  }
}

export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
