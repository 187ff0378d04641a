import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { IdlegridError, parseUsd } from '@idlegrid/domain';
import type { SettlementTerms } from './settlement/metering.ts';

const schema = z.object({
  /** TCP port of the HTTP API, agent gateway and dashboard; 0 picks a free port. */
  port: z.coerce.number().int().min(0).max(65_535).default(8470),
  /** Interface to listen on. 127.0.0.1 keeps a local network private; 0.0.0.0 serves other hosts. */
  host: z.string().min(1).default('127.0.0.1'),
  /** Directory for the embedded SQLite database and the embedded chain state (`<dataDir>/chain`). */
  dataDir: z.string().min(1).default(join(homedir(), '.idlegrid', 'cloud')),
  /** postgres://… to use PostgreSQL instead of the embedded SQLite file. */
  databaseUrl: z.string().regex(/^postgres(ql)?:\/\//, 'expected postgres://…').optional(),
  /** Seconds between agent heartbeats, announced to agents in `welcome`. */
  heartbeatSeconds: z.coerce.number().positive().max(300).default(5),
  /** A device that sends nothing for this long is offline and leaves the supply. */
  nodeLossSeconds: z.coerce.number().positive().max(3600).default(15),
  /** How often heartbeat timestamps are flushed from memory to the store. */
  flushSeconds: z.coerce.number().positive().max(300).default(5),
  /** Lifetime of a login challenge. */
  challengeTtlSeconds: z.coerce.number().int().positive().max(3600).default(300),
  /** Seconds an agent has to answer the challenge with a signed hello. */
  helloTimeoutSeconds: z.coerce.number().positive().max(120).default(10),
  /** Largest accepted HTTP request body. */
  maxBodyBytes: z.coerce.number().int().positive().max(16 * 1024 * 1024).default(256 * 1024),
  /** Requests per second refilled per client IP, counted before authentication (0 turns the IP limit off). */
  rateLimitIpPerSecond: z.coerce.number().min(0).max(1_000_000).default(200),
  /** Requests a client IP may make at once before the per-second refill applies. */
  rateLimitIpBurst: z.coerce.number().int().min(1).max(10_000_000).default(2_000),
  /** Requests per second refilled per valid API key (0 turns the key limit off). */
  rateLimitKeyPerSecond: z.coerce.number().min(0).max(1_000_000).default(50),
  /** Requests one API key may make at once before the per-second refill applies. */
  rateLimitKeyBurst: z.coerce.number().int().min(1).max(10_000_000).default(500),
  /** Agent messages per second refilled per connection; a flood past the burst is refused and closed (0: off). */
  agentMessagesPerSecond: z.coerce.number().min(0).max(1_000_000).default(100),
  /** Agent messages one connection may send at once before the per-second refill applies. */
  agentMessageBurst: z.coerce.number().int().min(1).max(10_000_000).default(1_000),
  /** Seconds a client has to send complete request headers; slower connections (slowloris) are dropped. */
  headersTimeoutSeconds: z.coerce.number().positive().max(600).default(20),
  /** Seconds a client has to send a whole request, body included (uploads through the Ray proxy count). */
  requestTimeoutSeconds: z.coerce.number().positive().max(3600).default(300),
  /** A cluster node that has not joined Ray this long after assignment is swapped for another device. */
  provisionTimeoutSeconds: z.coerce.number().positive().max(3600).default(180),
  /** How long a release waits for agents to confirm Ray stopped before ending the nodes anyway. */
  releaseTimeoutSeconds: z.coerce.number().positive().max(600).default(30),
  /** How often every active lease is reconciled (readiness, expiry, replacements). */
  leaseTickSeconds: z.coerce.number().positive().max(60).default(1),
  /** How often devices are asked to measure RTTs to a few peers (network coordinates). */
  probeSeconds: z.coerce.number().positive().max(3600).default(30),
  /** Proof of GPU: mean seconds between re-challenges of a verified device (exponentially distributed, so unpredictable). */
  verifySeconds: z.coerce.number().positive().max(30 * 86_400).default(21_600),
  /** Proof of GPU: matrix size n of a GPU challenge (2·n³ operations; 8192 ≈ 2.4 ms on an H100, many seconds on a CPU). */
  verifyGpuN: z.coerce.number().int().min(16).max(16_384).default(8_192),
  /** Proof of GPU: matrix size n of a `cpu` challenge (plain TypeScript in a worker; 256 ≈ 0.05–0.3 s). */
  verifyCpuN: z.coerce.number().int().min(16).max(4_096).default(256),
  /**
   * Proof of GPU: milliseconds added to the model's time limit for the agent's matrix derivation, checksums and the
   * transport both ways; the agent's deadline and the bound on the round trip the server sees.
   */
  verifyAllowanceMs: z.coerce.number().int().min(100).max(600_000).default(30_000),
  /**
   * Settlement chain: `embedded` (LiteSVM in `<dataDir>/chain`, one process) or a Solana JSON-RPC
   * URL (test validator, devnet, mainnet; what several replicas share). With a URL, `authority` is required.
   */
  chain: z
    .string()
    .min(1)
    .default('embedded')
    .refine((v) => v === 'embedded' || /^https?:\/\/[^\s]+$/.test(v), { message: 'expected "embedded" or an http(s):// RPC URL' }),
  /** With an RPC chain: the protocol authority keypair file (solana-keygen JSON), funded with SOL; the same for every replica. */
  authority: z.string().min(1).optional(),
  /**
   * The URL other control-plane replicas reach this one at (requests only the leader serves are
   * forwarded there). Default: http://<host>:<port> as listened on.
   */
  advertiseUrl: z.string().regex(/^https?:\/\/[^\s]+$/, 'expected http(s)://host:port').optional(),
  /** Fee on converting a USDC deposit to IO, in basis points. */
  usdcConversionFeeBps: z.coerce.number().int().min(0).max(1_000).default(200),
  /** USD per IO used to convert USDC deposits (the embedded network's reference price). */
  ioUsdReferencePrice: z.string().regex(/^\d{1,12}(\.\d{1,6})?$/, 'expected a decimal such as "1.00"').refine((v) => /[1-9]/.test(v), 'must be positive').default('1.00'),
  /** Settlement interval: one batch of payouts per this many seconds. */
  settleSeconds: z.coerce.number().int().positive().max(86_400).default(60),
  /** Reward epoch length: emissions are computed and minted once per epoch (DESIGN: 1 hour). */
  epochSeconds: z.coerce.number().int().min(5).max(604_800).default(3_600),
  /** Protocol fee taken from every supplier payout, in basis points. */
  protocolFeeBps: z.coerce.number().int().min(0).max(5_000).default(250),
  /** Share of the protocol fee that is burned (SPL burn), in basis points; the rest goes to treasury. */
  feeBurnShareBps: z.coerce.number().int().min(0).max(10_000).default(5_000),
  /** Governance: seconds a proposal is open for votes after it is made (IDLEGRID_GOV_VOTING_SECONDS; default one day). */
  govVotingSeconds: z.coerce.number().int().positive().max(90 * 86_400).default(86_400),
  /**
   * Governance: seconds between the end of voting and the earliest epoch close that applies a passed
   * proposal (IDLEGRID_GOV_TIMELOCK_SECONDS; default one day; 0 applies it at the next epoch close).
   */
  govTimelockSeconds: z.coerce.number().int().min(0).max(90 * 86_400).default(86_400),
  /** Seconds a node may be billed beyond its agent's latest signed usage report (reports lag by up to a heartbeat). */
  usageSlackSeconds: z.coerce.number().int().min(0).max(600).default(15),
  /**
   * Tests only: `POINT` or `POINT#N` kills the process with SIGKILL the Nth time (default 1st)
   * settlement reaches POINT (see settlement/crash-points.ts), to prove crash safety.
   */
  crashAt: z.string().regex(/^[a-z.-]+(#\d+)?$/, 'expected POINT or POINT#N').optional(),
  /** pino log level. */
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type CloudConfig = z.infer<typeof schema>;
export type CloudConfigInput = z.input<typeof schema>;

/**
 * Builds the control-plane configuration from the environment (IDLEGRID_* variables)
 * and explicit overrides (CLI flags win over the environment). Never read at import time.
 */
export function loadCloudConfig(env: NodeJS.ProcessEnv, overrides: Partial<CloudConfigInput> = {}): CloudConfig {
  const fromEnv: Partial<Record<keyof CloudConfigInput, string | undefined>> = {
    port: env['IDLEGRID_PORT'],
    host: env['IDLEGRID_HOST'],
    dataDir: env['IDLEGRID_DATA_DIR'],
    databaseUrl: env['IDLEGRID_DATABASE_URL'],
    heartbeatSeconds: env['IDLEGRID_HEARTBEAT_SECONDS'],
    nodeLossSeconds: env['IDLEGRID_NODE_LOSS_SECONDS'],
    flushSeconds: env['IDLEGRID_FLUSH_SECONDS'],
    challengeTtlSeconds: env['IDLEGRID_CHALLENGE_TTL_SECONDS'],
    helloTimeoutSeconds: env['IDLEGRID_HELLO_TIMEOUT_SECONDS'],
    maxBodyBytes: env['IDLEGRID_MAX_BODY_BYTES'],
    rateLimitIpPerSecond: env['IDLEGRID_RATE_LIMIT_IP_PER_SECOND'],
    rateLimitIpBurst: env['IDLEGRID_RATE_LIMIT_IP_BURST'],
    rateLimitKeyPerSecond: env['IDLEGRID_RATE_LIMIT_KEY_PER_SECOND'],
    rateLimitKeyBurst: env['IDLEGRID_RATE_LIMIT_KEY_BURST'],
    agentMessagesPerSecond: env['IDLEGRID_AGENT_MESSAGES_PER_SECOND'],
    agentMessageBurst: env['IDLEGRID_AGENT_MESSAGE_BURST'],
    headersTimeoutSeconds: env['IDLEGRID_HEADERS_TIMEOUT_SECONDS'],
    requestTimeoutSeconds: env['IDLEGRID_REQUEST_TIMEOUT_SECONDS'],
    provisionTimeoutSeconds: env['IDLEGRID_PROVISION_TIMEOUT_SECONDS'],
    releaseTimeoutSeconds: env['IDLEGRID_RELEASE_TIMEOUT_SECONDS'],
    leaseTickSeconds: env['IDLEGRID_LEASE_TICK_SECONDS'],
    probeSeconds: env['IDLEGRID_PROBE_SECONDS'],
    verifySeconds: env['IDLEGRID_VERIFY_SECONDS'],
    verifyGpuN: env['IDLEGRID_VERIFY_GPU_N'],
    verifyCpuN: env['IDLEGRID_VERIFY_CPU_N'],
    verifyAllowanceMs: env['IDLEGRID_VERIFY_ALLOWANCE_MS'],
    chain: env['IDLEGRID_CHAIN'],
    authority: env['IDLEGRID_AUTHORITY'],
    advertiseUrl: env['IDLEGRID_ADVERTISE_URL'],
    usdcConversionFeeBps: env['IDLEGRID_USDC_CONVERSION_FEE_BPS'],
    ioUsdReferencePrice: env['IDLEGRID_IO_USD_REFERENCE_PRICE'],
    settleSeconds: env['IDLEGRID_SETTLE_SECONDS'],
    epochSeconds: env['IDLEGRID_EPOCH_SECONDS'],
    protocolFeeBps: env['IDLEGRID_PROTOCOL_FEE_BPS'],
    feeBurnShareBps: env['IDLEGRID_FEE_BURN_SHARE_BPS'],
    usageSlackSeconds: env['IDLEGRID_USAGE_SLACK_SECONDS'],
    govVotingSeconds: env['IDLEGRID_GOV_VOTING_SECONDS'],
    govTimelockSeconds: env['IDLEGRID_GOV_TIMELOCK_SECONDS'],
    crashAt: env['IDLEGRID_CRASH_AT'],
    logLevel: env['LOG_LEVEL'],
  };
  const merged = { ...dropUndefined(fromEnv), ...dropUndefined(overrides) };
  const parsed = schema
    .refine((c) => c.chain === 'embedded' || c.authority !== undefined, {
      path: ['authority'],
      message: 'required with an RPC chain: the funded protocol authority keypair file (IDLEGRID_AUTHORITY or --authority)',
    })
    .safeParse(merged);
  if (!parsed.success) {
    throw new IdlegridError('CONFIG_INVALID', {
      issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    });
  }
  return parsed.data;
}

/** The economic terms settlement runs on, from the configuration. */
export function settlementTerms(config: CloudConfig): SettlementTerms {
  return {
    protocolFeeBps: config.protocolFeeBps,
    feeBurnShareBps: config.feeBurnShareBps,
    ioUsdPrice: parseUsd(config.ioUsdReferencePrice),
    usageSlackSeconds: config.usageSlackSeconds,
  };
}

function dropUndefined<T extends object>(obj: T): Partial<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as Partial<T>;
}
