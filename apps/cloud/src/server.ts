import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { createAdaptorServer } from '@hono/node-server';
import pino, { type Logger } from 'pino';
import { systemClock, type Clock } from '@idlegrid/domain';
import { openEmbeddedLedger, type IdempotencyStore, type Ledger } from '@idlegrid/chain';
import { openStore, type Store } from '@idlegrid/store';
import { createCloudApp, cryptoRandom, type CloudApp } from './app.ts';
import type { CloudConfig } from './config.ts';
import { AGENT_GATEWAY_PATH, AgentGateway } from './gateway/agent-gateway.ts';
import { LivenessMonitor } from './live/liveness-monitor.ts';
import { Metrics } from './metrics.ts';
import { ProbePlanner, type ProbePlan } from './live/probe-planner.ts';
import type { RayInspector } from './leases/ray-inspector.ts';
import { rayStateInspector } from './leases/ray-state-inspector.ts';
import type { CrashHook } from './settlement/chain-tasks.ts';
import { crashHook } from './settlement/crash-points.ts';
import { storeIdempotency } from './settlement/store-idempotency.ts';
import type { FraudEvent, Verifier } from './verification/verifier.ts';
import { createVerifier } from './verification/wiring.ts';

export interface RunningCloud {
  url: string;
  port: number;
  store: Store;
  /** The settlement chain (embedded: LiteSVM in `<dataDir>/chain`). */
  ledger: Ledger;
  cloud: CloudApp;
  /** Proof of GPU: challenges devices on hello and at random times. */
  verifier: Verifier;
  logger: Logger;
  close(): Promise<void>;
}

export async function openCloudStore(config: CloudConfig): Promise<Store> {
  if (config.databaseUrl) return openStore({ kind: 'postgres', url: config.databaseUrl });
  await mkdir(config.dataDir, { recursive: true });
  return openStore({ kind: 'sqlite', path: join(config.dataDir, 'idlegrid.sqlite') });
}

/**
 * Opens and bootstraps the settlement chain named by `config.chain` (only `embedded` for now).
 * The control plane passes its store as the idempotency store, so a payment is recorded in the
 * same database as the batch it belongs to.
 */
export async function openCloudLedger(
  config: CloudConfig,
  clock: Clock,
  options: { idempotency?: IdempotencyStore; crash?: CrashHook } = {},
): Promise<Ledger> {
  const crash = options.crash;
  const ledger = await openEmbeddedLedger({
    dataDir: join(config.dataDir, 'chain'),
    clock,
    ...(options.idempotency ? { idempotency: options.idempotency } : {}),
    ...(crash ? { faults: { afterRecord: () => crash('ledger.after-record'), afterSend: () => crash('ledger.after-send') } } : {}),
  });
  try {
    await ledger.bootstrap();
  } catch (e) {
    await ledger.close().catch(() => undefined);
    throw e;
  }
  return ledger;
}

/** Starts the control plane: store, chain, HTTP API, agent gateway and liveness monitor. */
export async function startCloud(
  config: CloudConfig,
  options: { logger?: Logger; clock?: Clock; inspector?: RayInspector; onFraud?: (event: FraudEvent) => unknown } = {},
): Promise<RunningCloud> {
  const logger = options.logger ?? pino({ level: config.logLevel, base: { app: 'cloud' } });
  const clock = options.clock ?? systemClock;
  const store = await openCloudStore(config);
  const crash = crashHook(config.crashAt);
  let ledger: Ledger;
  try {
    ledger = await openCloudLedger(config, clock, { idempotency: storeIdempotency(store), ...(crash ? { crash } : {}) });
  } catch (e) {
    await store.close().catch(() => undefined);
    throw e;
  }
  // Nothing is connected yet after a (re)start: every device must say hello again.
  await store.devices.markAllOffline(clock.now());

  const metrics = new Metrics();
  const countMessage = metrics.counter('idlegrid_agent_messages_total', 'Agent messages by type and result');
  const cloud = createCloudApp({ config, store, clock, random: cryptoRandom, logger, metrics, inspector: options.inspector ?? rayStateInspector, ledger, ...(crash ? { crash } : {}) });
  await cloud.economy.book.load(store);
  const liveness = new LivenessMonitor({
    registry: cloud.registry,
    store,
    clock,
    logger,
    nodeLossSeconds: config.nodeLossSeconds,
    flushSeconds: config.flushSeconds,
    onFlushed: (devices) => cloud.leases.touchNodes(devices),
  });
  // Network coordinates: every device probes a few peers every probeSeconds, and soon after it connects.
  const probes = new ProbePlanner({ registry: cloud.registry, random: cryptoRandom });
  const sendProbes = (plans: ProbePlan[]) => {
    for (const p of plans) cloud.registry.get(p.deviceId)?.send(p.message);
  };
  const probeTimers = new Set<NodeJS.Timeout>();
  cloud.registry.subscribe({
    connected: (d) => {
      const t = setTimeout(() => {
        probeTimers.delete(t);
        const plan = probes.planFor(d.id);
        if (plan) sendProbes([plan]);
      }, 2000);
      t.unref();
      probeTimers.add(t);
    },
    removed: (d) => probes.forget(d.id),
  });
  const probeTimer = setInterval(() => sendProbes(probes.plan(Math.max(100, Math.ceil(cloud.registry.size / 10)))), config.probeSeconds * 1000);
  probeTimer.unref();
  const verifier = createVerifier({
    config, store, registry: cloud.registry, capacity: cloud.capacity, clock, random: cryptoRandom, logger,
    // A failed or forged verification slashes slash_fraud_bps of the device's stake (none staked: nothing to slash).
    onFraud: [
      (e) => cloud.economy.staking?.slash({ deviceId: e.deviceId, reason: 'fraud', verificationId: e.verificationId }),
      ...(options.onFraud ? [options.onFraud] : []),
    ],
  });
  await verifier.start();
  const gateway = new AgentGateway({
    store,
    registry: cloud.registry,
    liveness,
    clock,
    logger,
    heartbeatSeconds: config.heartbeatSeconds,
    nodeLossSeconds: config.nodeLossSeconds,
    helloTimeoutSeconds: config.helloTimeoutSeconds,
    messageRate: { perSecond: config.agentMessagesPerSecond, burst: config.agentMessageBurst },
    countMessage: (type, result) => countMessage({ type, result }),
    onLeaseStatus: (device, message) => cloud.leases.onLeaseStatus(device, message),
    onRunningLeases: (device, leases) => cloud.leases.onRunningLeases(device, leases),
    onProbeResult: (device, rtts) => probes.noteResult(device.id, rtts),
    onDeviceReady: (device) => verifier.deviceReady(device),
    onVerifyResult: (device, message) => verifier.onResult(device, message),
    observeHeartbeatLag: metrics.histogram(
      'idlegrid_heartbeat_lag_ms',
      'Milliseconds from a heartbeat\'s sentAt to the device\'s in-memory lastSeen reflecting it',
      [1, 2, 5, 10, 20, 50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10_000, 30_000],
    ),
  });
  metrics.gauge('idlegrid_agent_connections', 'Open agent WebSocket connections', () => gateway.connections);

  // Slowloris: a client that never finishes its headers (or its request) is dropped; Node checks every interval.
  const headersTimeoutMs = config.headersTimeoutSeconds * 1000;
  const server = createAdaptorServer({
    fetch: cloud.app.fetch,
    serverOptions: {
      headersTimeout: headersTimeoutMs,
      requestTimeout: Math.max(headersTimeoutMs, config.requestTimeoutSeconds * 1000),
      connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(headersTimeoutMs / 4))),
    },
  }) as Server;
  server.on('upgrade', (req, socket, head) => {
    const path = (req.url ?? '').split('?')[0];
    if (path === AGENT_GATEWAY_PATH) gateway.handleUpgrade(req, socket, head);
    else if (path?.startsWith('/v1/clusters/')) cloud.proxy.handleUpgrade(req, socket, head);
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  liveness.start();
  await cloud.leases.start();
  cloud.settler?.start();
  cloud.epochs?.start();
  const port = (server.address() as AddressInfo).port;
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
  logger.info({ url, store: store.kind, chain: ledger.backend }, 'control plane listening');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      clearInterval(probeTimer);
      for (const t of probeTimers) clearTimeout(t);
      await cloud.leases.stop();
      await cloud.settler?.stop();
      await cloud.epochs?.stop();
      await gateway.close();
      await verifier.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await liveness.stop();
      await store.close();
      await ledger.close();
    })();
    return closing;
  };
  return { url, port, store, ledger, cloud, verifier, logger, close };
}
