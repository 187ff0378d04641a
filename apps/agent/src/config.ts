import { isIP } from 'node:net';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { IdlegridError, isRegionId, REGIONS, type Address, type RegionId } from '@idlegrid/domain';
import { addressSchema, decimalSchema } from '@idlegrid/protocol';

/** Settings of one agent. Built by loadAgentConfig; nothing reads the environment at import time. */
export interface AgentConfig {
  /** The control plane's base URL, http(s), without a trailing slash (the first, when several are given). Required. */
  cloudUrl: string;
  /** The agent gateway, derived from cloudUrl: ws(s)://host[:port][/base]/v1/agent. */
  agentUrl: string;
  /**
   * Every replica's gateway, in the order given (`--cloud URL1,URL2,…`): each new connection
   * tries the next, so an agent whose replica went away reconnects to another.
   */
  agentUrls: string[];
  /** Where the agent keeps its state. Default `$IDLEGRID_HOME/agent`, i.e. `~/.idlegrid/agent`. */
  dataDir: string;
  /** The device identity keypair (solana-keygen JSON), created on first start. Default `<dataDir>/device-key.json`. */
  keypairPath: string;
  /** The region this device declares (see REGIONS in @idlegrid/domain). Default `local`. */
  region: RegionId;
  /**
   * Asking price per GPU-hour in USD ("1.25"). null: the default for the offered model
   * from DEFAULT_PRICE_PER_GPU_HOUR (e.g. H100 "2.00", RTX4090 "0.40", cpu "0.50").
   */
  pricePerGpuHour: string | null;
  /** The Solana address earnings are paid to. null: the device key's own address. */
  payout: Address | null;
  /** TCP port of the RTT echo that peers probe (announced in hello). Default 0: any free port. */
  echoPort: number;
  /** Address the RTT echo binds. Default `0.0.0.0`. */
  echoHost: string;
  /** First port of the Ray port blocks (200 ports per lease node). Default 20000. */
  rayPortBase: number;
  /**
   * The IP address Ray nodes register and listen on (dashboard, Serve). null: the local
   * address of the agent's connection to the cloud.
   */
  nodeIp: string | null;
  /** How Ray nodes are isolated from the host (see README, "Supplier protection"). null: the best one that works. */
  sandbox: SandboxMode | null;
  /** The unprivileged user Ray runs as when the agent runs as root. Default `idlegrid-ray`. */
  sandboxUser: string;
  /** The Python interpreter that runs the proof-of-GPU kernel (with torch or cupy for CUDA; numpy at least). Default `python3`. */
  python: string;
}

/** `user`: Ray runs as an unprivileged user; `bwrap`: also in a bubblewrap sandbox; `none`: as the agent itself. */
export type SandboxMode = 'user' | 'bwrap' | 'none';
export const SANDBOX_MODES: readonly SandboxMode[] = ['user', 'bwrap', 'none'];

/** Values from command-line flags; each wins over its environment variable. Empty strings count as unset. */
export interface AgentConfigOverrides {
  cloudUrl?: string | undefined;
  dataDir?: string | undefined;
  keypairPath?: string | undefined;
  region?: string | undefined;
  pricePerGpuHour?: string | undefined;
  payout?: string | undefined;
  echoPort?: string | undefined;
  echoHost?: string | undefined;
  rayPortBase?: string | undefined;
  nodeIp?: string | undefined;
  sandbox?: string | undefined;
  sandboxUser?: string | undefined;
  python?: string | undefined;
}

/** The environment variable behind each setting. */
export const AGENT_CONFIG_ENV = {
  cloudUrl: 'IDLEGRID_CLOUD_URL',
  dataDir: 'IDLEGRID_AGENT_DATA_DIR',
  keypairPath: 'IDLEGRID_AGENT_KEYPAIR',
  region: 'IDLEGRID_REGION',
  pricePerGpuHour: 'IDLEGRID_PRICE',
  payout: 'IDLEGRID_PAYOUT',
  echoPort: 'IDLEGRID_ECHO_PORT',
  echoHost: 'IDLEGRID_ECHO_HOST',
  rayPortBase: 'IDLEGRID_RAY_PORT_BASE',
  nodeIp: 'IDLEGRID_NODE_IP',
  sandbox: 'IDLEGRID_SANDBOX',
  sandboxUser: 'IDLEGRID_SANDBOX_USER',
  python: 'IDLEGRID_PYTHON',
} as const satisfies Record<keyof AgentConfigOverrides, string>;

export const DEFAULT_REGION = 'local';
export const DEFAULT_ECHO_HOST = '0.0.0.0';
export const DEFAULT_RAY_PORT_BASE = 20_000;
export const DEFAULT_SANDBOX_USER = 'idlegrid-ray';
export const DEFAULT_PYTHON = 'python3';

const inputSchema = z.object({
  cloudUrl: z
    .string({ error: `required: pass --cloud URL or set ${AGENT_CONFIG_ENV.cloudUrl}` })
    .refine((v) => v.split(',').every((u) => isHttpUrl(u.trim())), 'expected an http(s) URL such as http://127.0.0.1:8080 (or several, comma-separated: one per control-plane replica)'),
  dataDir: z.string(),
  keypairPath: z.string().optional(),
  region: z.string().refine(isRegionId, {
    error: (issue) => `unknown region ${String(issue.input)}; known: ${REGIONS.map((r) => r.id).join(', ')}`,
  }),
  pricePerGpuHour: decimalSchema.optional(),
  payout: addressSchema.optional(),
  echoPort: z
    .string()
    .regex(/^\d{1,5}$/, 'expected a TCP port number (0 = any free port)')
    .transform(Number)
    .refine((port) => port <= 65_535, 'expected a TCP port number (0 = any free port)')
    .optional(),
  echoHost: z.string().refine((host) => isIP(host) !== 0, 'expected an IP address to bind, such as 0.0.0.0, :: or 127.0.0.1'),
  rayPortBase: z
    .string()
    .regex(/^\d{4,5}$/, 'expected a port number from 1024 to 65335 (the first Ray port block)')
    .transform(Number)
    .refine((port) => port >= 1024 && port + 200 - 1 <= 65_535, 'expected a port number from 1024 to 65335 (the first Ray port block)')
    .optional(),
  nodeIp: z
    .string()
    .refine((ip) => isIP(ip) !== 0 && ip !== '0.0.0.0' && ip !== '::', 'expected the IP address of this host that peers and the cloud reach, such as 203.0.113.7')
    .optional(),
  sandbox: z.enum(SANDBOX_MODES, { error: `expected one of ${SANDBOX_MODES.join(', ')}` }).optional(),
  sandboxUser: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'expected a user name such as idlegrid-ray'),
  python: z.string().min(1),
});

/**
 * Reads the agent's settings from flags (`overrides`) and the environment, fills in
 * defaults and validates them all at once. Throws IdlegridError('CONFIG_INVALID') listing
 * every problem.
 */
export function loadAgentConfig(env: NodeJS.ProcessEnv, overrides: AgentConfigOverrides = {}): AgentConfig {
  const pick = (key: keyof AgentConfigOverrides): string | undefined =>
    nonEmpty(overrides[key]) ?? nonEmpty(env[AGENT_CONFIG_ENV[key]]);
  const home = nonEmpty(env['HOME']) ?? homedir();
  const idlegridHome = expandHome(nonEmpty(env['IDLEGRID_HOME']) ?? join(home, '.idlegrid'), home);
  const parsed = inputSchema.safeParse({
    cloudUrl: pick('cloudUrl'),
    dataDir: pick('dataDir') ?? join(idlegridHome, 'agent'),
    keypairPath: pick('keypairPath'),
    region: pick('region') ?? DEFAULT_REGION,
    pricePerGpuHour: pick('pricePerGpuHour'),
    payout: pick('payout'),
    echoPort: pick('echoPort'),
    echoHost: pick('echoHost') ?? DEFAULT_ECHO_HOST,
    rayPortBase: pick('rayPortBase'),
    nodeIp: pick('nodeIp'),
    sandbox: pick('sandbox'),
    sandboxUser: pick('sandboxUser') ?? DEFAULT_SANDBOX_USER,
    python: pick('python') ?? DEFAULT_PYTHON,
  });
  if (!parsed.success) {
    throw new IdlegridError('CONFIG_INVALID', {
      issues: parsed.error.issues.map((issue) => ({ path: issue.path.join('.') || '(root)', message: issue.message })),
    });
  }
  const input = parsed.data;
  const cloudUrls = input.cloudUrl.split(',').map((u) => u.trim().replace(/\/+$/, ''));
  const cloudUrl = cloudUrls[0] ?? input.cloudUrl;
  const dataDir = resolve(expandHome(input.dataDir, home));
  return {
    cloudUrl,
    agentUrl: agentGatewayUrl(cloudUrl),
    agentUrls: cloudUrls.map(agentGatewayUrl),
    dataDir,
    keypairPath: input.keypairPath ? resolve(expandHome(input.keypairPath, home)) : join(dataDir, 'device-key.json'),
    region: input.region,
    pricePerGpuHour: input.pricePerGpuHour ?? null,
    payout: input.payout ?? null,
    echoPort: input.echoPort ?? 0,
    echoHost: input.echoHost,
    rayPortBase: input.rayPortBase ?? DEFAULT_RAY_PORT_BASE,
    nodeIp: input.nodeIp ?? null,
    sandbox: input.sandbox ?? null,
    sandboxUser: input.sandboxUser,
    python: input.python,
  };
}

/** ws(s)://host[:port][/base]/v1/agent for a cloud base URL http(s)://host[:port][/base]. */
export function agentGatewayUrl(cloudUrl: string): string {
  const url = new URL(cloudUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/agent`;
  url.search = '';
  url.hash = '';
  return url.toString();
}

function isHttpUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
}

function nonEmpty(value: string | undefined): string | undefined {
  const v = value?.trim();
  return v ? v : undefined;
}

function expandHome(path: string, home: string): string {
  if (path === '~') return home;
  return path.startsWith('~/') ? join(home, path.slice(2)) : path;
}
