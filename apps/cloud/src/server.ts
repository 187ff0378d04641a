import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { createAdaptorServer } from '@hono/node-server';
import pino, { type Logger } from 'pino';
import { IdlegridError, systemClock, type Clock } from '@idlegrid/domain';
import { isChainError, openEmbeddedLedger, openRpcLedger, type IdempotencyStore, type Ledger } from '@idlegrid/chain';
import { readKeypairFile } from '@idlegrid/protocol';
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
import { DeviceRegistry } from './live/device-registry.ts';
import { applyLeaderMessage, openReplicaSet, startLeaderDuties, type ReplicaSetDeps } from './replicas/replica-wiring.ts';
import type { ReplicaSet } from './replicas/replica-set.ts';

export interface RunningCloud {
  url: string;
  port: number;
  store: Store;
  /** The settlement chain (embedded: LiteSVM in `<dataDir>/chain`). */
  ledger: Ledger;
  cloud: CloudApp;
  /** Proof of GPU: challenges devices on hello and at random times. */
  verifier: Verifier;
  /** With PostgreSQL: this process among the control-plane replicas of that database. */
  replicas: ReplicaSet | null;
  logger: Logger;
  close(): Promise<void>;
}

export async function openCloudStore(config: CloudConfig): Promise<Store> {
  if (config.databaseUrl) return openStore({ kind: 'postgres', url: config.databaseUrl });
  await mkdir(config.dataDir, { recursive: true });
  return openStore({ kind: 'sqlite', path: join(config.dataDir, 'idlegrid.sqlite') });
}

/**
 * Opens and bootstraps the settlement chain named by `config.chain`: the embedded LiteSVM chain
 * in `<dataDir>/chain`, or a Solana RPC endpoint with the authority keypair `config.authority`.
 * The control plane passes its store as the idempotency store, so a payment is recorded in the
 * same database as the batch it belongs to.
 */
export async function openCloudLedger(
  config: CloudConfig,
  clock: Clock,
  options: { idempotency?: IdempotencyStore; crash?: CrashHook } = {},
): Promise<Ledger> {
  const crash = options.crash;
  const common = {
    ...(options.idempotency ? { idempotency: options.idempotency } : {}),
    ...(crash ? { faults: { afterRecord: () => crash('ledger.after-record'), afterSend: () => crash('ledger.after-send') } } : {}),
  };
  const ledger: Ledger = config.chain === 'embedded'
    ? await openEmbeddedLedger({ dataDir: join(config.dataDir, 'chain'), clock, ...common })
    : await openRpcLedger({ url: config.chain, authority: await readKeypairFile(config.authority ?? ''), ...common });
  try {
    // Replicas starting together may race to create the mints; the loser finds them made on its second try.
    await ledger.bootstrap().catch(async () => {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      return ledger.bootstrap();
    });
  } catch (e) {
    await ledger.close().catch(() => undefined);
    if (isChainError(e)) throw new IdlegridError('CHAIN_FAILED', { code: e.code, reason: `${e.message} (chain: ${config.chain})` }, { cause: e });
    throw e;
  }
  return ledger;
}

/** Starts the control plane: store, chain, HTTP API, agent gateway and liveness monitor. */
export async function startCloud(
  config: CloudConfig,
  options: {
    logger?: Logger;
    clock?: Clock;
    inspector?: RayInspector;
    onFraud?: (event: FraudEvent) => unknown;
    /** Replicas: what happens when this replica loses the lead (default: the process exits, for its supervisor to restart it). */
    onDeposed?: (reason: string) => void;
    /** Tests: the replicas' bus and leader lock (default: PostgreSQL's). */
    replicaTransport?: Pick<ReplicaSetDeps, 'bus' | 'lock'>;
  } = {},
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
  const registry = new DeviceRegistry();
  // With PostgreSQL this process is one replica of the control plane: it joins the others first.
  let replicas: ReplicaSet | null = null;
  let bindReplicas: ((targets: { cloud: CloudApp; probes: ProbePlanner }) => void) | null = null;
  let alone = true;
  if (config.databaseUrl) {
    try {
      const opened = await openReplicaSet({
        databaseUrl: config.databaseUrl, store, ledger, rpcUrl: config.chain === 'embedded' ? null : config.chain, registry, clock, logger,
        lossSeconds: config.nodeLossSeconds,
        onDeposed: options.onDeposed ?? ((reason) => {
          logger.fatal({ reason }, 'this replica lost the lead; exiting so that its supervisor restarts it as a follower');
          process.exit(70);
        }),
        ...options.replicaTransport,
      });
      replicas = opened.set;
      bindReplicas = opened.bind;
      alone = (await replicas.join()).alone;
    } catch (e) {
      await replicas?.stop().catch(() => undefined);
      await ledger.close().catch(() => undefined);
      await store.close().catch(() => undefined);
      throw e;
    }
  }
  // Nothing is connected yet after a (re)start: every device must say hello again (unless other replicas hold them).
  if (alone) await store.devices.markAllOffline(clock.now());

  const metrics = new Metrics();
  const countMessage = metrics.counter('idlegrid_agent_messages_total', 'Agent messages by type and result');
  const cloud = createCloudApp({
    config, store, clock, random: cryptoRandom, logger, metrics, inspector: options.inspector ?? rayStateInspector, ledger, registry,
    ...(crash ? { crash } : {}), ...(replicas ? { replication: replicas } : {}),
  });
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
      // Another replica's device is probed by that replica.
      if (d.owner !== undefined) return;
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
  // Probe rounds over the whole pool are the leader's; a new device's first probes are its own replica's.
  const probeTimer = setInterval(() => {
    if (cloud.replication.isLeader) sendProbes(probes.plan(Math.max(100, Math.ceil(cloud.registry.size / 10))));
  }, config.probeSeconds * 1000);
  probeTimer.unref();
  const verifier = createVerifier({
    config, store, registry: cloud.registry, capacity: cloud.capacity, clock, random: cryptoRandom, logger,
    // A failed or forged verification slashes slash_fraud_bps of the device's stake (none staked: nothing to slash).
    onFraud: [
      (e) => cloud.economy.staking?.slash({ deviceId: e.deviceId, reason: 'fraud', verificationId: e.verificationId }),
      ...(options.onFraud ? [options.onFraud] : []),
    ],
  });
  await verifier.start({ cancelStale: alone });
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
    onLeaseStatus: (device, message) => (replicas ? replicas.toLeader(device.id, message) : applyLeaderMessage({ cloud, probes }, device.id, message)),
    onRunningLeases: (device, leases) => cloud.leases.onRunningLeases(device, leases),
    onProbeResult: (device, message) => {
      probes.noteResult(device.id, message.rtts);
      if (replicas && !replicas.isLeader) replicas.toLeader(device.id, message);
    },
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
  const port = (server.address() as AddressInfo).port;
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
  // A follower keeps its reservations and lease-node index in step with the leader's (also between nudges).
  const followerRefresh = setInterval(() => {
    if (!cloud.replication.isLeader) cloud.leases.refreshIndex().catch((err: unknown) => logger.warn({ err }, 'could not re-read lease reservations'));
  }, 5_000);
  followerRefresh.unref();
  if (replicas && bindReplicas) {
    bindReplicas({ cloud, probes });
    replicas.start(config.advertiseUrl ?? url);
  } else {
    await startLeaderDuties(cloud);
  }
  logger.info({ url, store: store.kind, chain: ledger.backend, replica: cloud.replication.id }, 'control plane listening');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      clearInterval(probeTimer);
      clearInterval(followerRefresh);
      await replicas?.stop();
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
  return { url, port, store, ledger, cloud, verifier, replicas, logger, close };
}
