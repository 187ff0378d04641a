export { RayError, isRayError, type RayErrorCode } from './errors.ts';
export {
  RAY_VENV_ENV,
  ensureRayVenv,
  pinnedRayVersion,
  rayRequirementsPath,
  rayVenvDir,
  repoRoot,
  resolveRayVenv,
  setupRayScriptPath,
  type EnsureRayVenvOptions,
  type Env,
  type RayVenv,
} from './venv.ts';
export { FIRST_WORKER_PORT_OFFSET, PORT_BLOCK_SIZE, assertPortsFree, blocksOverlap, firstFreePortBase, fixedPorts, portBlock, portBlocks, type RayPorts } from './ports.ts';
export { RAY_TEMP_DIR_MAX_BYTES, assertTempDirFits, nodeTempDir, tempDirFits, type NodeTempDir } from './temp-dir.ts';
export { DEFAULT_HEALTH_CHECK, PASSED_THROUGH_ENV, rayNodeEnv, type HealthCheckTuning } from './ray-env.ts';
export { hostPort, rayStartArgs, type RayStartArgsOptions } from './ray-args.ts';
export { splitHostPort, waitForTcp } from './tcp-wait.ts';
export { startRayNode, stopStaleRayNode, type RayNodeHandle, type StartRayNodeOptions, type StopOptions } from './ray-node.ts';
export { readRayNodeId } from './node-id.ts';
export { ProcessFamily, readProcTable, type ProcEntry } from './process-family.ts';
export { rayRequest, rayUrl, type RayHttpRequest, type RayHttpResponse, type RayHttpTarget } from './http-client.ts';
export {
  listAliveNodes,
  listNodes,
  waitForHead,
  waitForNodeDead,
  waitForNodes,
  type HeadInfo,
  type RayNodeInfo,
  type RayNodeState,
  type WaitOptions,
} from './nodes-api.ts';
export {
  RAY_JOB_STATUSES,
  TERMINAL_JOB_STATUSES,
  isTerminalJobStatus,
  rayJobDetailsSchema,
  type RayJobDetails,
  type RayJobStatus,
  type RayJobSubmitReply,
  type SubmitJobRequest,
} from './jobs-schemas.ts';
export { createJobsClient, type RayJobsClient, type TailOptions } from './jobs-client.ts';
export { pythonEntrypoint, shellCommand, shellQuote } from './entrypoint.ts';
export { startLocalCluster, type LocalCluster, type LocalClusterOptions } from './local-cluster.ts';
export { measureBareRayStart, type BareStartMeasurement, type BareStartOptions } from './measure.ts';
