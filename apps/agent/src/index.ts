export {
  COORDINATE_FILE, createAgentLogger, startAgent,
  type AgentDeps, type AgentHandle, type AgentState, type AgentStateDetail, type AgentStateListener,
} from './agent.ts';
export { DEFAULT_BACKOFF, type BackoffOptions } from './backoff.ts';
export {
  AGENT_CONFIG_ENV, agentGatewayUrl, DEFAULT_ECHO_HOST, DEFAULT_RAY_PORT_BASE, DEFAULT_REGION, DEFAULT_SANDBOX_USER, loadAgentConfig, SANDBOX_MODES,
  type AgentConfig, type AgentConfigOverrides, type SandboxMode,
} from './config.ts';
export type { WebSocketConstructor } from './connection.ts';
export { DEFAULT_PRICE_PER_GPU_HOUR, defaultPriceFor } from './default-prices.ts';
export {
  HANDLED_SERVER_MESSAGE_TYPES, loggingHandlers,
  type HandledServerMessage, type HandledServerMessageType, type OutgoingAgentMessage, type ServerMessageHandler,
  type ServerMessageHandlers, type SessionContext,
} from './handlers.ts';
export { LeaseRuntime, type LeaseNodeState, type LeaseRuntimeOptions, type LeaseUsage, type LeaseView } from './leases/lease-runtime.ts';
export { rayLauncher, type LaunchedNode, type NodeLauncher, type NodeRequest, type RayLauncherOptions } from './leases/ray-launcher.ts';
export { choosePortBlock, claimPortBlockFile, type ChoosePortBlockOptions, type PortBlockLease } from './leases/port-blocks.ts';
export { ensureSandboxUser, resolveSandbox, SandboxError, type Sandbox, type SandboxNode, type SandboxUser } from './leases/sandbox.ts';
export { setupWorker, type SetupWorkerOptions, type SetupWorkerResult } from './setup.ts';
export { CommandError, execCommand, type CommandRunner } from './probe/command-runner.ts';
export { readHostFacts, sampleHostLoad, type HostFacts, type HostLoad, type LoadSampler } from './probe/host.ts';
export { computeOffer, DEFAULT_PROBE_TIMEOUT_MS, probeHardware, type ProbeOptions } from './probe/probe.ts';
export { ECHO_DEFAULTS, ECHO_FRAME_BYTES, ECHO_MAGIC, startEchoServer, type EchoServer, type EchoServerOptions } from './rtt/echo-server.ts';
export { DEFAULT_MEASURE_RTT, measureRtt, parseEchoAddress, type MeasureRttOptions } from './rtt/measure-rtt.ts';
export { loadPosition, NetworkPosition, savePosition, type CoordinateWithError } from './rtt/network-position.ts';
export { createProbeHandler, type ProbeHandlerOptions } from './rtt/probe-handler.ts';
export { installSignalHandlers, type SignalHandlerOptions, type SignalTarget } from './signals.ts';
export { AGENT_VERSION } from './version.ts';
