import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { RayError, errorMessage } from './errors.ts';
import { rayJson, type RayHttpTarget } from './http-client.ts';

/** One node as Ray's State API reports it (`GET /api/v0/nodes`, Ray 2.60). */
export const rayNodeStateSchema = z.looseObject({
  node_id: z.string(),
  node_ip: z.string(),
  is_head_node: z.boolean(),
  state: z.string(),
  state_message: z.string().nullish(),
  node_name: z.string().optional(),
  resources_total: z.record(z.string(), z.number()).default({}),
  labels: z.record(z.string(), z.string()).optional(),
  start_time_ms: z.number().nullish(),
  end_time_ms: z.number().nullish(),
});

const listNodesReplySchema = z.looseObject({
  result: z.boolean(),
  msg: z.string().optional(),
  data: z.looseObject({
    result: z.looseObject({
      total: z.number().optional(),
      result: z.array(rayNodeStateSchema),
    }),
  }),
});

export type RayNodeState = z.infer<typeof rayNodeStateSchema>;

export interface RayNodeInfo {
  readonly nodeId: string;
  readonly ip: string;
  readonly isHead: boolean;
  readonly alive: boolean;
  /** ALIVE or DEAD (Ray's word). */
  readonly state: string;
  /** Why a node died, e.g. "Expected termination: received SIGTERM". */
  readonly stateMessage: string | null;
  /** Totals: CPU, GPU, memory, object_store_memory, custom resources, node:<ip>. */
  readonly resources: Readonly<Record<string, number>>;
  readonly raw: RayNodeState;
}

function toInfo(n: RayNodeState): RayNodeInfo {
  return {
    nodeId: n.node_id,
    ip: n.node_ip,
    isHead: n.is_head_node,
    alive: n.state === 'ALIVE',
    state: n.state,
    stateMessage: n.state_message ?? null,
    resources: n.resources_total,
    raw: n,
  };
}

function target(dashboardUrl: string | RayHttpTarget, token?: string): RayHttpTarget {
  return typeof dashboardUrl === 'string' ? { url: dashboardUrl, token } : dashboardUrl;
}

/** Every node Ray knows (alive and dead), via the State API. */
export async function listNodes(dashboardUrl: string | RayHttpTarget, token?: string): Promise<RayNodeInfo[]> {
  const reply = await rayJson(
    target(dashboardUrl, token),
    { method: 'GET', path: '/api/v0/nodes', query: { limit: '10000', detail: 'true', timeout: '10' } },
    listNodesReplySchema,
    { errorCode: 'RAY_BAD_RESPONSE' },
  );
  if (!reply.result) throw new RayError('RAY_BAD_RESPONSE', `Ray's node list failed: ${reply.msg ?? 'no reason'}`);
  return reply.data.result.result.map(toInfo);
}

export async function listAliveNodes(dashboardUrl: string | RayHttpTarget, token?: string): Promise<RayNodeInfo[]> {
  return (await listNodes(dashboardUrl, token)).filter((n) => n.alive);
}

export interface WaitOptions {
  readonly pollMs?: number;
}

/**
 * Polls until `check` returns a value; transient failures (dashboard not up yet) are
 * retried, RAY_UNAUTHORIZED is not. On timeout: RAY_TIMEOUT with the last failure.
 */
export async function pollUntil<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>, pollMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
      last = 'condition not met';
    } catch (e) {
      if (e instanceof RayError && e.code === 'RAY_UNAUTHORIZED') throw e;
      last = errorMessage(e);
    }
    if (Date.now() >= deadline) throw new RayError('RAY_TIMEOUT', `Timed out after ${timeoutMs} ms waiting for ${what} (${last})`, { what, timeoutMs, last });
    await sleep(pollMs);
  }
}

export interface HeadInfo {
  readonly rayVersion: string;
  readonly sessionName: string;
  readonly head: RayNodeInfo;
}

const versionSchema = z.looseObject({ ray_version: z.string(), session_name: z.string().optional() });

/** Until the dashboard answers with the token and lists an alive head node. */
export async function waitForHead(dashboardUrl: string | RayHttpTarget, token: string | undefined, timeoutMs: number, options: WaitOptions = {}): Promise<HeadInfo> {
  const t = target(dashboardUrl, token);
  return pollUntil(
    `the Ray head at ${t.url}`,
    timeoutMs,
    async () => {
      const version = await rayJson(t, { method: 'GET', path: '/api/version' }, versionSchema, { errorCode: 'RAY_BAD_RESPONSE' });
      const head = (await listAliveNodes(t)).find((n) => n.isHead);
      return head ? { rayVersion: version.ray_version, sessionName: version.session_name ?? '', head } : undefined;
    },
    options.pollMs,
  );
}

/** Until at least `count` nodes (head included) are alive; returns the alive nodes. */
export async function waitForNodes(dashboardUrl: string | RayHttpTarget, token: string | undefined, count: number, timeoutMs: number, options: WaitOptions = {}): Promise<RayNodeInfo[]> {
  const t = target(dashboardUrl, token);
  return pollUntil(
    `${count} alive Ray nodes at ${t.url}`,
    timeoutMs,
    async () => {
      const alive = await listAliveNodes(t);
      return alive.length >= count ? alive : undefined;
    },
    options.pollMs,
  );
}

/** Until the node `nodeId` is reported DEAD; returns its final state. */
export async function waitForNodeDead(dashboardUrl: string | RayHttpTarget, token: string | undefined, nodeId: string, timeoutMs: number, options: WaitOptions = {}): Promise<RayNodeInfo> {
  const t = target(dashboardUrl, token);
  return pollUntil(
    `Ray node ${nodeId} to be dead`,
    timeoutMs,
    async () => (await listNodes(t)).find((n) => n.nodeId === nodeId && !n.alive),
    options.pollMs,
  );
}
