// Virtual agents for the ingest benchmarks: one child process (started with IPC by
// ingest-bench.ts / ingest-soak.ts) opens real agent sessions for its share of devices —
// challenge, signed hello, honest proof-of-GPU answers, then signed heartbeats on a timing
// wheel — and reports counters to its parent once a second. Keys are node:crypto KeyObjects
// made once per device and reused across reconnects (churn).
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { parseChallengeSeed, solveChallenge } from '@idlegrid/economics';
import { generateKeypair, signAgentMessage, type HardwareReport, type Keypair } from '@idlegrid/protocol';

/** What the parent sends to start a child. */
export interface AgentsStart {
  type: 'start';
  url: string;
  devices: number;
  heartbeatMs: number;
  /** Source address of this child's connections (127.0.0.x), so that many children do not share one ephemeral-port range. */
  localAddress: string;
  /** New connections per second while ramping up. */
  connectPerSecond: number;
}

/** Closes `count` online devices; each reconnects with the same key after `reconnectAfterMs`. */
export interface AgentsChurn {
  type: 'churn';
  count: number;
  reconnectAfterMs: number;
}

export type AgentsCommand = AgentsStart | AgentsChurn | { type: 'stop' };

/** Counters a child reports (cumulative except `online` and `connecting`). */
export interface AgentsReport {
  type: 'report';
  online: number;
  connecting: number;
  welcomed: number;
  heartbeats: number;
  verifyAnswered: number;
  probesAnswered: number;
  closed: number;
  /** Server `error` frames and socket errors by code. */
  errors: Record<string, number>;
  /** Worst lateness of the heartbeat wheel in the last second (the generator's own lag). */
  wheelLateMs: number;
}

const HARDWARE: HardwareReport = {
  gpus: [],
  cpu: { model: 'Virtual CPU', cores: 4 },
  memoryBytes: 8 * 2 ** 30,
  os: { platform: 'linux', release: '6.1', arch: 'x64' },
  offer: { model: 'cpu', slots: 1 },
};
const REGIONS = ['local', 'eu-central', 'us-east'] as const;
const WHEEL_TICK_MS = 100;
const MAX_HANDSHAKES = 100;

interface Device {
  readonly index: number;
  readonly keypair: Keypair;
  socket: WebSocket | null;
  nonce: string;
  seq: number;
  online: boolean;
  /** Left on purpose (churn or stop): no error is counted for the close. */
  leaving: boolean;
}

class VirtualAgents {
  private readonly devices: Device[] = [];
  private readonly wheel: Device[][];
  private readonly counts = { welcomed: 0, heartbeats: 0, verifyAnswered: 0, probesAnswered: 0, closed: 0 };
  private readonly errors: Record<string, number> = {};
  private online = 0;
  private connecting = 0;
  private wheelLateMs = 0;
  private tick = 0;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly wsUrl: string;

  constructor(private readonly o: AgentsStart) {
    this.wsUrl = `${o.url.replace(/^http/, 'ws')}/v1/agent`;
    this.wheel = Array.from({ length: Math.max(1, Math.round(o.heartbeatMs / WHEEL_TICK_MS)) }, () => []);
    for (let i = 0; i < o.devices; i++) {
      const device: Device = { index: i, keypair: generateKeypair(), socket: null, nonce: '', seq: 0, online: false, leaving: false };
      this.devices.push(device);
      this.wheel[i % this.wheel.length]?.push(device);
    }
  }

  start(): void {
    this.ramp();
    const started = performance.now();
    this.timers.push(
      setInterval(() => {
        // Every slot that is due, also those a busy event loop made late (timers do not catch up by themselves).
        const now = performance.now();
        while (started + (this.tick + 1) * WHEEL_TICK_MS <= now) {
          this.wheelLateMs = Math.max(this.wheelLateMs, now - (started + (this.tick + 1) * WHEEL_TICK_MS));
          const slot = this.wheel[this.tick % this.wheel.length] ?? [];
          this.tick += 1;
          for (const d of slot) if (d.online) this.heartbeat(d);
        }
      }, WHEEL_TICK_MS),
      setInterval(() => this.report(), 1000),
    );
  }

  churn(count: number, reconnectAfterMs: number): void {
    const online = this.devices.filter((d) => d.online);
    for (let i = 0; i < count && online.length > 0; i++) {
      const pick = online.splice(Math.floor(Math.random() * online.length), 1)[0];
      if (!pick) break;
      pick.leaving = true;
      pick.socket?.close(1000, 'churn');
      const t = setTimeout(() => {
        pick.leaving = false;
        this.connect(pick);
      }, reconnectAfterMs);
      this.timers.push(t);
    }
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.report();
    for (const d of this.devices) {
      d.leaving = true;
      d.socket?.terminate();
    }
  }

  private ramp(): void {
    let next = 0;
    const perTick = Math.max(1, Math.round(this.o.connectPerSecond / 20));
    const timer = setInterval(() => {
      // At most MAX_HANDSHAKES sessions between connect and welcome: a busy control plane slows the ramp
      // down instead of letting handshakes time out (as real devices back off and retry).
      for (let i = 0; i < perTick && next < this.devices.length && this.connecting < MAX_HANDSHAKES; i++) {
        const d = this.devices[next++];
        if (d) this.connect(d);
      }
      if (next >= this.devices.length) clearInterval(timer);
    }, 50);
    this.timers.push(timer);
  }

  private connect(d: Device): void {
    this.connecting += 1;
    d.seq = 0;
    const socket = new WebSocket(this.wsUrl, { perMessageDeflate: false, localAddress: this.o.localAddress, handshakeTimeout: 30_000 });
    d.socket = socket;
    socket.on('message', (data: Buffer) => this.receive(d, socket, data));
    socket.on('error', (err: NodeJS.ErrnoException) => this.count(err.code ?? `SOCKET_ERROR: ${err.message.slice(0, 60)}`));
    socket.on('close', (code) => {
      if (d.socket !== socket) return;
      if (d.online) this.online -= 1;
      else this.connecting -= 1;
      d.online = false;
      d.socket = null;
      this.counts.closed += 1;
      if (!d.leaving) this.count(`CLOSE_${code}`);
    });
  }

  private receive(d: Device, socket: WebSocket, data: Buffer): void {
    const frame = JSON.parse(data.toString('utf8')) as { type: string; [k: string]: unknown };
    switch (frame.type) {
      case 'challenge':
        d.nonce = String(frame['nonce']);
        socket.send(JSON.stringify(signAgentMessage(d.keypair, {
          type: 'hello',
          nonce: d.nonce,
          deviceKey: d.keypair.address,
          agentVersion: 'virtual-0.1',
          protocolVersion: Number(frame['protocolVersion']),
          hardware: HARDWARE,
          region: REGIONS[d.index % REGIONS.length] ?? 'local',
          pricePerGpuHour: (0.05 + (d.index % 20) / 100).toFixed(2),
          payout: d.keypair.address,
        }, d.nonce)));
        return;
      case 'welcome':
        d.online = true;
        this.connecting -= 1;
        this.online += 1;
        this.counts.welcomed += 1;
        return;
      case 'verify': {
        // An honest cpu-class answer: the product of the seeded matrices, timed.
        const started = performance.now();
        const checksums = solveChallenge(parseChallengeSeed(String(frame['seed'])), Number(frame['n']));
        this.send(d, { type: 'verify-result', challengeId: String(frame['challengeId']), checksums, elapsedMs: performance.now() - started });
        this.counts.verifyAnswered += 1;
        return;
      }
      case 'probe': {
        // Virtual devices run no RTT echo: every peer is reported unreachable.
        const peers = (frame['peers'] as Array<{ deviceId: string }> | undefined) ?? [];
        this.send(d, { type: 'probe-result', rtts: peers.map((p) => ({ deviceId: p.deviceId, rttMs: null })) });
        this.counts.probesAnswered += 1;
        return;
      }
      case 'error':
        this.count(String(frame['code']));
        return;
      default:
        return;
    }
  }

  private heartbeat(d: Device): void {
    const x = (d.index % 97) - 48;
    this.send(d, {
      type: 'heartbeat',
      sentAt: Date.now(),
      load: { cpu: 0.1, memoryUsedBytes: 1_000_000, gpuUtilization: [] },
      coordinate: { x, y: (d.index % 89) - 44, h: 1, error: 0.5 },
      // Usage reports: cumulative GPU-seconds per running lease; a virtual device runs none.
      leases: [],
    });
    this.counts.heartbeats += 1;
  }

  private send(d: Device, body: Record<string, unknown>): void {
    const socket = d.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    d.seq += 1;
    socket.send(JSON.stringify(signAgentMessage(d.keypair, { ...body, seq: d.seq }, d.nonce)));
  }

  private count(code: string): void {
    this.errors[code] = (this.errors[code] ?? 0) + 1;
  }

  private report(): void {
    const report: AgentsReport = {
      type: 'report',
      online: this.online,
      connecting: this.connecting,
      ...this.counts,
      errors: { ...this.errors },
      wheelLateMs: Math.round(this.wheelLateMs),
    };
    this.wheelLateMs = 0;
    process.send?.(report);
  }
}

let agents: VirtualAgents | null = null;
process.on('message', (command: AgentsCommand) => {
  if (command.type === 'start' && !agents) {
    agents = new VirtualAgents(command);
    agents.start();
  } else if (command.type === 'churn') {
    agents?.churn(command.count, command.reconnectAfterMs);
  } else if (command.type === 'stop') {
    agents?.stop();
    setTimeout(() => process.exit(0), 200).unref();
  }
});
process.on('disconnect', () => process.exit(0));
