import { dirname, join } from 'node:path';
import { WebSocket } from 'ws';
import { pino, type Logger } from 'pino';
import {
  ERROR_HTTP_STATUS, IdlegridError, systemClock, toDeviceId, type Clock, type DeviceId, type ErrorCode, type RandomSource,
} from '@idlegrid/domain';
import { AGENT_PROTOCOL_VERSION, helloSchema, loadOrCreateKeypair, type HardwareReport, type Keypair } from '@idlegrid/protocol';
import { backoffDelayMs, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.ts';
import type { AgentConfig } from './config.ts';
import { AgentConnection, type ConnectionOutcome, type HelloBody, type WebSocketConstructor } from './connection.ts';
import { defaultPriceFor } from './default-prices.ts';
import {
  dispatchServerMessage, loggingHandlers, type HandledServerMessage, type OutgoingAgentMessage, type ServerMessageHandlers,
  type SessionContext,
} from './handlers.ts';
import { LeaseRuntime, type LeaseView } from './leases/lease-runtime.ts';
import { rayLauncher, type NodeLauncher } from './leases/ray-launcher.ts';
import { sampleHostLoad, type LoadSampler } from './probe/host.ts';
import { probeHardware } from './probe/probe.ts';
import { startEchoServer, type EchoServer } from './rtt/echo-server.ts';
import { loadPosition, savePosition, type CoordinateWithError, type NetworkPosition } from './rtt/network-position.ts';
import { createProbeHandler } from './rtt/probe-handler.ts';
import { AGENT_VERSION } from './version.ts';
import { ChallengeSolver } from './verify/challenge-solver.ts';

export type AgentState = 'connecting' | 'online' | 'backoff' | 'stopped';

/** Passed with a state change: why the agent stopped by itself (the cloud refused it for good). */
export interface AgentStateDetail {
  error?: IdlegridError;
}

export type AgentStateListener = (state: AgentState, detail: AgentStateDetail) => void;

export interface AgentHandle {
  readonly deviceId: DeviceId;
  readonly hardware: HardwareReport;
  /** The price and payout address the agent announces (config or defaults). */
  readonly pricePerGpuHour: string;
  readonly payout: string;
  /** The TCP port of the RTT echo, as announced in hello. */
  readonly echoPort: number;
  /** The device's current Vivaldi coordinate (what the next heartbeat carries). */
  readonly coordinate: CoordinateWithError;
  readonly state: AgentState;
  /** This device's Ray node of each lease it was assigned (see LeaseRuntime). */
  leases(): LeaseView[];
  /** Calls `listener` on every state change; returns a function that unsubscribes. */
  onState(listener: AgentStateListener): () => void;
  /** Stops every Ray node, closes the connection (code 1000), cancels every timer; resolves when done. Idempotent. */
  stop(): Promise<void>;
}

export interface AgentDeps {
  /** Default: createAgentLogger(process.env). */
  logger?: Logger;
  /** Default: probeHardware() of this host. */
  probe?: () => Promise<HardwareReport>;
  clock?: Clock;
  /** Uniform [0, 1) source for the reconnect jitter. */
  random?: RandomSource;
  WebSocketImpl?: WebSocketConstructor;
  sampleLoad?: LoadSampler;
  /** Handlers for server commands; missing ones log the command. */
  handlers?: Partial<ServerMessageHandlers>;
  backoff?: Partial<BackoffOptions>;
  /** Limit for connect + challenge + welcome. Default 15 s. */
  handshakeTimeoutMs?: number;
  /** RTT to a peer's echo in ms (null: no answer). Default measureRtt: 3 probes, 2 s. */
  measureRtt?: (address: string) => Promise<number | null>;
  /** Starts a lease's Ray node. Default: Ray from the venv in the configured sandbox (rayLauncher). */
  launcher?: NodeLauncher;
}

/** Server error codes after which reconnecting cannot help: the agent stops. */
const FATAL_SERVER_CODES: ReadonlySet<string> = new Set<ErrorCode>(['AGENT_REPLACED']);
const DEFAULT_HANDSHAKE_TIMEOUT_MS = 15_000;
/** Where the agent keeps its Vivaldi coordinate between runs, under dataDir. */
export const COORDINATE_FILE = 'coordinate.json';

/** The logger an agent uses when none is injected: pino at LOG_LEVEL (default info). */
export function createAgentLogger(env: NodeJS.ProcessEnv): Logger {
  return pino({ name: 'idlegrid-agent', level: env['LOG_LEVEL'] ?? 'info' });
}

/**
 * Loads (or creates) the device key, probes the hardware, and starts the session with the
 * cloud: it connects, proves the key, heartbeats, and reconnects with backoff until
 * stopped. Resolves as soon as the session is started (state `connecting`); watch
 * onState for `online`.
 */
export async function startAgent(config: AgentConfig, deps: AgentDeps = {}): Promise<AgentHandle> {
  const logger = deps.logger ?? createAgentLogger(process.env);
  const { keypair, created } = await loadOrCreateKeypair(config.keypairPath);
  if (created) logger.info({ path: config.keypairPath, deviceId: keypair.address }, 'created a new device key');
  const hardware = await (deps.probe ?? (() => probeHardware({ logger })))();
  const position = await loadPosition(join(config.dataDir, COORDINATE_FILE), config.region, toDeviceId(keypair.address));
  // The agent is created below; the runtime reaches it through this holder.
  const holder: { agent: Agent | null } = { agent: null };
  const leases = await LeaseRuntime.create({
    dataDir: config.dataDir,
    portBase: config.rayPortBase,
    nodeIp: () => config.nodeIp ?? holder.agent?.localAddress ?? null,
    gpuIndices: hardware.offer.model === 'cpu' ? [] : hardware.gpus.filter((g) => g.model === hardware.offer.model).map((g) => g.index),
    launcher:
      deps.launcher ??
      rayLauncher({
        env: process.env,
        sandbox: config.sandbox,
        sandboxUser: config.sandboxUser,
        hide: [config.dataDir, dirname(config.keypairPath)],
        secrets: [config.keypairPath],
        logger,
      }),
    send: (message) => holder.agent?.send(message) ?? false,
    logger,
  });
  const echo = await startEchoServer({ host: config.echoHost, port: config.echoPort, logger });
  const closeEarly = async (): Promise<void> => {
    await echo.close();
    await leases.stop();
  };
  const hello: HelloBody = {
    deviceKey: keypair.address,
    agentVersion: AGENT_VERSION,
    protocolVersion: AGENT_PROTOCOL_VERSION,
    hardware,
    region: config.region,
    pricePerGpuHour: config.pricePerGpuHour ?? defaultPriceFor(hardware.offer.model),
    payout: config.payout ?? keypair.address,
    echoPort: echo.port,
  };
  const checked = helloSchema.omit({ type: true, nonce: true, sig: true }).safeParse(hello);
  if (!checked.success) {
    await closeEarly();
    throw new IdlegridError('VALIDATION_FAILED', {
      where: 'hello',
      issues: checked.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    });
  }
  const agent = new Agent(config, keypair, hello, logger, deps, echo, position, leases);
  holder.agent = agent;
  logger.info(
    {
      deviceId: agent.deviceId, offer: hardware.offer, price: hello.pricePerGpuHour, region: hello.region, payout: hello.payout,
      cloud: config.cloudUrl, echo: `${echo.host}:${echo.port}`,
    },
    'agent starting',
  );
  agent.start();
  return agent.handle();
}

class Agent {
  readonly deviceId: DeviceId;
  private state: AgentState = 'connecting';
  private readonly listeners = new Set<AgentStateListener>();
  private connection: AgentConnection | null = null;
  private lastLocalAddress: string | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private attempt = 0;
  /** Connections opened so far (picks the replica of the next one). */
  private connections = 0;
  private stopping: Promise<void> | null = null;
  private saving: Promise<void> = Promise.resolve();
  private readonly clock: Clock;
  private readonly random: RandomSource;
  private readonly backoff: BackoffOptions;
  private readonly handlers: ServerMessageHandlers;
  private readonly context: SessionContext;
  private readonly solver: ChallengeSolver;

  constructor(
    private readonly config: AgentConfig,
    private readonly keypair: Keypair,
    private readonly hello: HelloBody,
    private readonly logger: Logger,
    private readonly deps: AgentDeps,
    private readonly echo: EchoServer,
    private readonly position: NetworkPosition,
    private readonly leaseRuntime: LeaseRuntime,
  ) {
    this.deviceId = toDeviceId(keypair.address);
    this.clock = deps.clock ?? systemClock;
    this.random = deps.random ?? Math.random;
    this.backoff = { ...DEFAULT_BACKOFF, ...deps.backoff };
    const probe = createProbeHandler({ position, measure: deps.measureRtt, onMoved: () => this.savePosition() });
    this.solver = new ChallengeSolver({ model: hello.hardware.offer.model, python: config.python });
    this.handlers = { ...loggingHandlers(), probe, verify: this.solver.handler(), ...leaseRuntime.handlers(), ...deps.handlers };
    this.context = { deviceId: this.deviceId, logger, send: (message) => this.send(message) };
  }

  handle(): AgentHandle {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the handle reads live state
    const agent = this;
    return {
      deviceId: this.deviceId,
      hardware: this.hello.hardware,
      pricePerGpuHour: this.hello.pricePerGpuHour,
      payout: this.hello.payout,
      echoPort: this.echo.port,
      get coordinate() {
        return agent.position.current;
      },
      get state() {
        return agent.state;
      },
      leases: () => this.leaseRuntime.list(),
      onState: (listener) => {
        this.listeners.add(listener);
        return () => this.listeners.delete(listener);
      },
      stop: () => this.stop(),
    };
  }

  start(): void {
    this.connect();
  }

  /** This end's IP address on the current (or last) connection to the cloud. */
  get localAddress(): string | null {
    return this.connection?.localAddress ?? this.lastLocalAddress;
  }

  /** The session's signed send, on whichever connection is current. */
  send(message: OutgoingAgentMessage): boolean {
    return this.connection?.send(message) ?? false;
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutDown();
    return this.stopping;
  }

  private async shutDown(): Promise<void> {
    this.clearRetry();
    this.solver.stop();
    // Ray first, while the cloud can still hear that the nodes stopped.
    await this.leaseRuntime.stop().catch((err: unknown) => this.logger.error({ err }, 'could not stop every Ray node'));
    const connection = this.connection;
    this.connection = null;
    if (connection) await connection.close(1000, 'agent stopping');
    await this.echo.close();
    await this.saving;
    this.logger.info({ deviceId: this.deviceId }, 'agent stopped');
    this.setState('stopped', {});
  }

  private connect(): void {
    this.retryTimer = null;
    if (this.stopping) return;
    this.setState('connecting', {});
    // With several replicas, each connection goes to the next one: a replica that went away is left at once.
    const url = this.config.agentUrls[this.connections++ % this.config.agentUrls.length] ?? this.config.agentUrl;
    this.logger.debug({ url, attempt: this.attempt }, 'connecting');
    try {
      this.connection = this.openConnection(url);
    } catch (err) {
      // The socket constructor throws only for a URL it cannot use; keep retrying like any failure.
      this.logger.error({ err, url }, 'could not open a connection');
      this.connectionClosed({ wasOnline: false, onlineMs: 0, code: 1006, reason: '', serverError: null, socketError: String(err) });
    }
  }

  private openConnection(url: string): AgentConnection {
    return new AgentConnection({
      url,
      keypair: this.keypair,
      hello: this.hello,
      logger: this.logger,
      clock: this.clock,
      WebSocketImpl: this.deps.WebSocketImpl ?? WebSocket,
      sampleLoad: this.deps.sampleLoad ?? sampleHostLoad,
      coordinate: () => this.position.current,
      leases: () => this.leaseRuntime.usage(),
      handshakeTimeoutMs: this.deps.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
      onOnline: (welcome) => {
        if (welcome.deviceId !== this.deviceId) {
          this.logger.warn({ deviceId: this.deviceId, welcomed: welcome.deviceId }, 'the cloud welcomed another device id');
        }
        this.lastLocalAddress = this.connection?.localAddress ?? this.lastLocalAddress;
        this.logger.info({ deviceId: this.deviceId, heartbeatSeconds: welcome.heartbeatSeconds, localAddress: this.lastLocalAddress }, 'online');
        this.setState('online', {});
        this.leaseRuntime.announce();
      },
      onCommand: (message: HandledServerMessage) => dispatchServerMessage(this.handlers, message, this.context),
      onClosed: (outcome) => this.connectionClosed(outcome),
    });
  }

  private connectionClosed(outcome: ConnectionOutcome): void {
    this.connection = null;
    if (this.stopping) return;
    const { serverError } = outcome;
    if (serverError && FATAL_SERVER_CODES.has(serverError.code)) {
      const status = (ERROR_HTTP_STATUS as Readonly<Record<string, number | undefined>>)[serverError.code] ?? 502;
      const error = new IdlegridError('CLOUD_ERROR', { status, code: serverError.code, message: serverError.message });
      this.logger.error({ code: serverError.code }, `${error.message}; the agent stops (is another agent running with this device key?)`);
      this.solver.stop();
      this.stopping = Promise.all([
        this.echo.close(),
        this.leaseRuntime.stop().catch((err: unknown) => this.logger.error({ err }, 'could not stop every Ray node')),
      ]).then(() => undefined);
      this.setState('stopped', { error });
      return;
    }
    if (outcome.wasOnline && outcome.onlineMs >= this.backoff.resetAfterOnlineMs) this.attempt = 0;
    const delayMs = backoffDelayMs(this.attempt, this.random, this.backoff);
    this.attempt += 1;
    this.logger.warn(
      {
        code: outcome.code,
        reason: outcome.reason || undefined,
        error: outcome.socketError ?? undefined,
        serverError: serverError?.code,
        wasOnline: outcome.wasOnline,
        retryInMs: delayMs,
        attempt: this.attempt,
      },
      outcome.wasOnline ? 'disconnected from the cloud; reconnecting' : 'could not join the cloud; retrying',
    );
    this.setState('backoff', {});
    this.retryTimer = setTimeout(() => this.connect(), delayMs);
  }

  /** Keeps the coordinate for the next start (one write at a time); a failure only costs a slower start then. */
  private savePosition(): Promise<void> {
    const write = async (): Promise<void> => {
      try {
        await savePosition(join(this.config.dataDir, COORDINATE_FILE), this.config.region, this.position);
      } catch (err) {
        this.logger.warn({ err }, 'could not save the network coordinate');
      }
    };
    this.saving = this.saving.then(write);
    return this.saving;
  }

  private clearRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  private setState(state: AgentState, detail: AgentStateDetail): void {
    if (this.state === state) return;
    this.state = state;
    for (const listener of [...this.listeners]) {
      try {
        listener(state, detail);
      } catch (err) {
        this.logger.error({ err, state }, 'agent state listener failed');
      }
    }
  }
}
