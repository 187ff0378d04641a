import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { RayEndpoint } from '@idlegrid/protocol';
import {
  hostPort, readRayNodeId, resolveRayVenv, startRayNode, waitForHead, type HealthCheckTuning, type RayNodeHandle, type RayPorts,
  type RayVenv,
} from '@idlegrid/ray';
import type { SandboxMode } from '../config.ts';
import { resolveSandbox, sandboxBaseEnv, type Sandbox } from './sandbox.ts';
import { serveEnv } from './serve-defaults.ts';
import { createWorkDir, removeWorkDir } from './work-dir.ts';

/** Everything needed to start one lease's Ray node on this device. */
export interface NodeRequest {
  readonly leaseId: string;
  readonly role: 'head' | 'worker';
  /** Worker only: the head's GCS address. */
  readonly headGcsAddress: string | null;
  readonly token: string;
  readonly cpus: number;
  readonly gpus: number;
  /** Host GPU indices for this node (CUDA_VISIBLE_DEVICES; device files in bwrap). */
  readonly gpuIndices: readonly number[];
  readonly ports: RayPorts;
  readonly leaseDir: string;
  /** The IP Ray registers with; the head's dashboard and Serve listen on it. */
  readonly nodeIp: string;
}

/** A started node as the lease runtime sees it. */
export interface LaunchedNode {
  readonly rayNodeId: string | null;
  readonly endpoint: RayEndpoint;
  /** Resolves with a reason when the node's process ends (by itself or by stop()). */
  readonly exited: Promise<string>;
  /** Stops every process of the node and removes its work dir. */
  stop(): Promise<void>;
}

export type NodeLauncher = (request: NodeRequest) => Promise<LaunchedNode>;

export interface RayLauncherOptions {
  /** Where the venv (IDLEGRID_RAY_VENV) and locale come from. */
  readonly env: NodeJS.ProcessEnv;
  readonly sandbox: SandboxMode | null;
  readonly sandboxUser: string;
  /** Directories Ray must not see (data dir, key dir). */
  readonly hide: readonly string[];
  /** Files Ray must not read (the device key). */
  readonly secrets: readonly string[];
  readonly logger: Logger;
  readonly healthCheck?: HealthCheckTuning;
  /** Until the head's dashboard answers (default 60 s). */
  readonly headReadyWithinMs?: number;
  /** SIGTERM → SIGKILL on stop (default 3 s). */
  readonly stopGraceMs?: number;
  /** Ray's object store size per node (default: Ray's, 30% of memory). */
  readonly objectStoreMemoryBytes?: number;
}

/** A real launcher: Ray from the venv, in the configured sandbox. The sandbox is checked once, on first use. */
export function rayLauncher(options: RayLauncherOptions): NodeLauncher & { sandbox(): Promise<Sandbox> } {
  let sandboxPromise: Promise<Sandbox> | undefined;
  const sandboxFor = (venv: RayVenv): Promise<Sandbox> => {
    sandboxPromise ??= resolveSandbox({
      mode: options.sandbox, userName: options.sandboxUser, venv, hide: options.hide, secrets: options.secrets, logger: options.logger,
    }).then(
      (s) => {
        options.logger.info({ sandbox: s.mode, user: s.user?.name }, s.description);
        return s;
      },
      (e: unknown) => {
        sandboxPromise = undefined; // try again on the next lease (e.g. after `idlegrid worker setup`)
        throw e;
      },
    );
    return sandboxPromise;
  };
  const launch = async (request: NodeRequest): Promise<LaunchedNode> => {
    const venv = resolveRayVenv(options.env);
    return launchNode(request, venv, await sandboxFor(venv), options);
  };
  return Object.assign(launch, { sandbox: () => sandboxFor(resolveRayVenv(options.env)) });
}

async function lastLogLines(file: string, n: number): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.replace(/\u001b\[[0-9;]*m/g, '').trim().split('\n').slice(-n).join('\n');
}

async function launchNode(request: NodeRequest, venv: RayVenv, sandbox: Sandbox, options: RayLauncherOptions): Promise<LaunchedNode> {
  const nodeName = request.role;
  const work = await createWorkDir(request.leaseDir, nodeName, sandbox.user);
  const env: Record<string, string> = {
    // Serve's proxy must not share its port with another lease's socket (same uid → SO_REUSEPORT would allow it).
    SERVE_SOCKET_REUSE_PORT_ENABLED: '0',
    ...(request.gpus > 0 ? { CUDA_VISIBLE_DEVICES: request.gpuIndices.join(',') } : {}),
    ...(request.role === 'head' ? serveEnv(request.nodeIp, request.ports, work.pythonPath) : {}),
  };
  let handle: RayNodeHandle;
  try {
    handle = await startRayNode({
      role: request.role,
      venv,
      token: request.token,
      ports: request.ports,
      leaseDir: request.leaseDir,
      nodeName,
      nodeIpAddress: request.nodeIp,
      ...(request.headGcsAddress !== null ? { headAddress: request.headGcsAddress } : {}),
      numCpus: request.cpus,
      numGpus: request.gpus,
      ...(request.role === 'head' ? { dashboardHost: request.nodeIp } : {}),
      tempDir: work.rayTemp,
      env,
      baseEnv: sandboxBaseEnv(sandbox, work.dir, options.env),
      commandPrefix: sandbox.commandPrefix({ workDir: work.dir, gpuIndices: request.gpuIndices }),
      ...(options.healthCheck ? { healthCheck: options.healthCheck } : {}),
      ...(options.objectStoreMemoryBytes !== undefined ? { objectStoreMemoryBytes: options.objectStoreMemoryBytes } : {}),
    });
  } catch (e) {
    await removeWorkDir(work.dir);
    throw e;
  }
  let stopping = false;
  const stop = async (): Promise<void> => {
    stopping = true;
    await handle.stop({ graceMs: options.stopGraceMs ?? 3_000 });
    await removeWorkDir(work.dir);
  };
  try {
    if (request.role === 'head' && handle.dashboardUrl !== undefined) {
      await waitForHead(handle.dashboardUrl, request.token, options.headReadyWithinMs ?? 60_000);
    }
  } catch (e) {
    await stop().catch(() => undefined);
    throw e;
  }
  const rayNodeId = handle.nodeId ?? (await readRayNodeId(work.rayTemp)) ?? null;
  const endpoint: RayEndpoint =
    request.role === 'head'
      ? {
          nodeIp: handle.nodeIp,
          gcsAddress: handle.gcsAddress,
          ...(handle.dashboardUrl !== undefined ? { dashboardUrl: handle.dashboardUrl } : {}),
          serveUrl: `http://${hostPort(request.nodeIp, request.ports.serveHttp)}`,
        }
      : { nodeIp: handle.nodeIp };
  const exited = handle.exited.then(async (code) => {
    if (stopping) return 'stopped';
    const tail = await lastLogLines(handle.logFile, 8);
    return `the Ray ${request.role} exited by itself (${code === null ? 'killed by a signal' : `exit code ${code}`})${tail ? `: ${tail}` : ''}`;
  });
  return { rayNodeId, endpoint, exited, stop };
}
