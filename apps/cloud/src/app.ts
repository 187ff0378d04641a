import { randomBytes } from 'node:crypto';
import { Hono } from 'hono';
import type { Logger } from 'pino';
import { IdlegridError, microIo, type Clock, type RandomSource } from '@idlegrid/domain';
import { healthResponseSchema, replicasResponseSchema } from '@idlegrid/protocol';
import type { Ledger } from '@idlegrid/chain';
import type { Store } from '@idlegrid/store';
import type { AppEnv } from './api/app-env.ts';
import { errorResponse } from './api/http-errors.ts';
import { rateLimitByIp, rateLimitedAuthenticator, TokenBuckets } from './api/rate-limit.ts';
import { ApiRouter, buildOpenApi } from './api/router.ts';
import { addAuthRoutes, apiKeyAuthenticator, walletForAuthorization } from './api/routes/auth-routes.ts';
import { addDeviceRoutes } from './api/routes/device-routes.ts';
import { addExplorerRoutes } from './api/routes/explorer-routes.ts';
import { addEpochRoutes, addTokenRoute } from './api/routes/epoch-routes.ts';
import { addEconomicsRoutes } from './api/routes/economics-routes.ts';
import { EpochService } from './economics/epochs.ts';
import { addClusterRoutes } from './api/routes/cluster-routes.ts';
import { addDeviceRewardsRoute, addEventStream, addExplorerLeaseRoute, addUnsignedDepositRoute } from './api/routes/dashboard-routes.ts';
import { serveDashboard } from './api/dashboard-static.ts';
import { addQuoteRoutes } from './api/routes/quote-routes.ts';
import { addSupplyRoutes } from './api/routes/supply-routes.ts';
import { addWalletRoutes, addWithdrawalRoute } from './api/routes/wallet-routes.ts';
import { addStakingGovernanceRoutes, createStakingGovernance, type StakingGovernance } from './economics/staking-wiring.ts';
import { settlementTerms, type CloudConfig } from './config.ts';
import type { CrashHook } from './settlement/chain-tasks.ts';
import { Settler } from './settlement/settler.ts';
import { DeviceRegistry } from './live/device-registry.ts';
import { Metrics } from './metrics.ts';
import { Capacity } from './scheduling/capacity.ts';
import { LeaseController } from './leases/lease-controller.ts';
import type { RayInspector } from './leases/ray-inspector.ts';
import type { LeaseControllerOptions } from './leases/lease-types.ts';
import { RayProxy } from './proxy/ray-proxy.ts';
import { forwardToLeader } from './replicas/leader-forward.ts';
import { singleProcess, type Replication } from './replicas/replication.ts';

export const CLOUD_VERSION = '0.1.0';

export interface CloudDeps {
  config: CloudConfig;
  store: Store;
  clock: Clock;
  random: RandomSource;
  logger: Logger;
  /** How readiness and node health are checked against Ray itself. */
  inspector: RayInspector;
  registry?: DeviceRegistry;
  metrics?: Metrics;
  /** The settlement chain (bootstrapped). Without it the wallet, chain and audit routes are not served (404) and nothing is settled. */
  ledger?: Ledger;
  /** Tests only: kills the process at a named settlement point (see settlement/crash-points.ts). */
  crash?: CrashHook;
  /** Overrides what happens when a supplier abandons a running lease (default: the staking service slashes). */
  onNodeAbandoned?: LeaseControllerOptions['onNodeAbandoned'];
  /** The built web dashboard served at `/` (default apps/dashboard/dist; a hint page when missing). */
  dashboardDir?: string;
  /**
   * The replica set this process belongs to (PostgreSQL replicas); absent: one process alone.
   * Only its leader books leases, settles and closes epochs; followers forward or nudge.
   */
  replication?: Replication;
}

export interface CloudApp {
  app: Hono<AppEnv>;
  registry: DeviceRegistry;
  capacity: Capacity;
  leases: LeaseController;
  proxy: RayProxy;
  metrics: Metrics;
  /** Settlement (null without a ledger); `start()` begins its rounds. */
  settler: Settler | null;
  /** Parameters in force (ParamBook), staking (null without a ledger) and governance; see economics/staking-wiring.ts. */
  economy: StakingGovernance;
  /** Reward epochs (null without a ledger); `start()` opens the first and closes each one as it ends. */
  epochs: EpochService | null;
  openapi: Record<string, unknown>;
  replication: Replication;
}

/** A uniform random source backed by the OS CSPRNG, for ids that must not be guessable. */
export const cryptoRandom: RandomSource = () => randomBytes(4).readUInt32BE(0) / 2 ** 32;

/** The HTTP API as a Hono app, callable in-process with `app.request(...)` in tests. */
export function createCloudApp(deps: CloudDeps): CloudApp {
  const { config, store, clock, logger } = deps;
  const registry = deps.registry ?? new DeviceRegistry();
  const metrics = deps.metrics ?? new Metrics();
  const capacity = new Capacity(registry, deps.random);
  const terms = settlementTerms(config);
  const replication = deps.replication ?? singleProcess(() => registry.size, () => clock.now());
  const leading = () => replication.isLeader;
  const economy = createStakingGovernance({ config, store, clock, logger, leading, ...(deps.ledger ? { ledger: deps.ledger } : {}), ...(deps.crash ? { crash: deps.crash } : {}) });
  const { book, staking, governance } = economy;
  // Governance may change the fee and its burn share (from the next batch); the IO price stays the configured one,
  // since running leases reserved their escrow at it.
  const governedTerms = () => ({ ...terms, protocolFeeBps: book.current().protocol_fee_bps, feeBurnShareBps: book.current().fee_burn_share_bps });
  const settler = deps.ledger
    ? new Settler({
        store, ledger: deps.ledger, clock, logger, terms: governedTerms, settleSeconds: config.settleSeconds, ...(deps.crash ? { crash: deps.crash } : {}),
        leading, nudgeLeader: () => replication.nudgeSettlement(),
        afterRound: async () => {
          await staking?.round();
          await governance.round();
        },
      })
    : null;
  const epochs = deps.ledger
    ? new EpochService({
        store, ledger: deps.ledger, clock, logger, epochSeconds: config.epochSeconds, params: () => book.current(),
        stakeOf: async (id) => (staking ? (await staking.coverage(id)).staked : microIo(0n)),
        lastSeenLive: (id) => registry.get(id)?.lastSeenMs,
        verificationsOf: async (id) => {
          const t = (await store.verifications.tallies([id])).get(id);
          return { passed: t?.passed ?? 0, judged: (t?.passed ?? 0) + (t?.failed ?? 0) };
        },
        onClose: async (tx, e) => {
          await governance.applyDue({ nowMs: clock.now(), epochIndex: e.idx, store: tx });
        },
        afterClose: async ({ standings }) => {
          for (const s of standings) registry.setStanding(s.deviceId, { tier: s.tier, reputation: s.reputation });
          await book.load(store);
        },
        ...(deps.crash ? { crash: deps.crash } : {}),
      })
    : null;
  const leases = new LeaseController({
    store,
    capacity,
    registry,
    inspector: deps.inspector,
    clock,
    random: deps.random,
    logger,
    provisionTimeoutSeconds: config.provisionTimeoutSeconds,
    releaseTimeoutSeconds: config.releaseTimeoutSeconds,
    tickSeconds: config.leaseTickSeconds,
    ioUsdPrice: terms.ioUsdPrice,
    onEscrowChange: () => settler?.nudge(),
    onLeasesChanged: () => replication.leasesChanged(),
    leading,
    onNodeAbandoned:
      deps.onNodeAbandoned ??
      (async (a) => {
        await staking?.slash({ deviceId: a.deviceId, reason: 'abandon', leaseId: a.leaseId, buyer: a.buyer });
      }),
  });
  const countRequest = metrics.counter('idlegrid_http_requests_total', 'HTTP requests by method, route and status');
  metrics.gauge('idlegrid_devices_online', 'Devices connected and heartbeating', () => registry.size);

  const app = new Hono<AppEnv>();
  app.use(async (c, next) => {
    await next();
    countRequest({ method: c.req.method, route: c.req.routePath || 'unmatched', status: String(c.res.status) });
  });
  app.onError((err, c) => errorResponse(c, err, logger));
  // Rate limits (config.rateLimit*): per client IP before anything else, per API key once it is known valid.
  const ipBuckets = new TokenBuckets({ perSecond: config.rateLimitIpPerSecond, burst: config.rateLimitIpBurst }, clock);
  const keyBuckets = new TokenBuckets({ perSecond: config.rateLimitKeyPerSecond, burst: config.rateLimitKeyBurst }, clock);
  app.use(rateLimitByIp(ipBuckets));

  const authenticate = rateLimitedAuthenticator(apiKeyAuthenticator(store, clock), keyBuckets);
  // Booking, extending and releasing are the leader's: a follower replica forwards them.
  const forward = forwardToLeader(replication, { authenticate, maxBodyBytes: config.maxBodyBytes });
  app.use('/v1/clusters/*', forward);
  app.use('/v1/clusters', forward);
  const router = new ApiRouter(app, { maxBodyBytes: config.maxBodyBytes, authenticate });
  app.notFound((c) => {
    const allowed = router.allowedMethods(c.req.path);
    const error = allowed.length > 0
      ? new IdlegridError('METHOD_NOT_ALLOWED', { method: c.req.method, path: c.req.path, allowed })
      : new IdlegridError('ROUTE_NOT_FOUND', { method: c.req.method, path: c.req.path });
    return errorResponse(c, error, logger);
  });
  const proxy = new RayProxy(store, leases, authenticate, async (header) => {
    const { wallet, keyId } = await walletForAuthorization(store, clock, header);
    keyBuckets.check(`key:${keyId}`);
    return wallet;
  }, logger);
  for (const target of ['ray', 'serve']) {
    app.all(`/v1/clusters/:id/${target}`, (c) => proxy.handle(c));
    app.all(`/v1/clusters/:id/${target}/*`, (c) => proxy.handle(c));
  }
  router.add(
    { method: 'get', path: '/healthz', summary: 'Liveness of the control plane', tag: 'ops', auth: false, response: healthResponseSchema },
    () => ({ ok: true, version: CLOUD_VERSION, store: store.kind, devicesOnline: registry.size, replica: { id: replication.id, leader: replication.isLeader } }),
  );
  router.add(
    { method: 'get', path: '/v1/replicas', summary: 'The control-plane replicas this one hears from, and which leads', tag: 'ops', auth: false, response: replicasResponseSchema },
    () => {
      const replicas = replication.view().map(({ lastAliveMs, ...r }) => ({ ...r, lastAliveAt: lastAliveMs }));
      return { self: replication.id, leader: replicas.find((r) => r.leader)?.id ?? null, replicas };
    },
  );
  addAuthRoutes(router, store, clock, deps.random, config.challengeTtlSeconds);
  addSupplyRoutes(router, registry);
  addExplorerRoutes(router, store);
  addExplorerLeaseRoute(router, store);
  addEpochRoutes(router, store, config.epochSeconds);
  addEconomicsRoutes(router, { config, store, clock, registry, book: economy.book });
  addStakingGovernanceRoutes(router, economy, { store, clock, config, ...(deps.ledger ? { ledger: deps.ledger } : {}) });
  addDeviceRoutes(router, store, registry);
  addDeviceRewardsRoute(router, { store, staking: economy.staking, epochSeconds: config.epochSeconds });
  addQuoteRoutes(router, capacity);
  addClusterRoutes(router, store, leases, clock, deps.ledger);
  if (deps.ledger && settler) {
    addWalletRoutes(router, store, clock, deps.ledger, config, settler);
    addWithdrawalRoute(router, store, clock, settler);
    addUnsignedDepositRoute(router, deps.ledger);
    addTokenRoute(router, deps.ledger);
  }
  addEventStream(app, { store, clock, registry, authenticate });

  const openapi = buildOpenApi(router.specs, CLOUD_VERSION);
  app.get('/v1/openapi.json', (c) => c.json(openapi));
  app.get('/metrics', (c) => c.text(metrics.render(), 200, { 'content-type': 'text/plain; version=0.0.4' }));
  serveDashboard(app, deps.dashboardDir);
  return { app, registry, capacity, leases, proxy, metrics, settler, epochs, economy, openapi, replication };
}
