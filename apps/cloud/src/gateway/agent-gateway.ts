import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { parseUsd, toDeviceId } from '@idlegrid/domain';
import {
  AGENT_MESSAGE_LIMIT_BYTES, type AgentSessionMessage, type HeartbeatMessage, type HelloMessage, type LeaseStatusMessage,
  type ProbeResultMessage, type VerifyResultMessage,
} from '@idlegrid/protocol';
import type { Store } from '@idlegrid/store';
import type { DeviceRegistry, LiveDevice } from '../live/device-registry.ts';
import type { LivenessMonitor } from '../live/liveness-monitor.ts';
import { AgentSession, type SessionSettings } from './agent-session.ts';

export const AGENT_GATEWAY_PATH = '/v1/agent';

export interface GatewayOptions extends SessionSettings {
  store: Store;
  registry: DeviceRegistry;
  liveness: LivenessMonitor;
  /** Lease status reports go to the lease controller. */
  onLeaseStatus?: (device: LiveDevice, message: LeaseStatusMessage) => void;
  /** RTTs an agent measured to the peers it was asked to probe. */
  onProbeResult?: (device: LiveDevice, message: ProbeResultMessage) => void;
  /** The leases a heartbeat says the device runs, with the agent's signed cumulative GPU-seconds for each. */
  onRunningLeases?: (device: LiveDevice, leases: HeartbeatMessage['leases']) => void;
  /** The device was welcomed (registered and told so): it is ready for commands such as a verification challenge. */
  onDeviceReady?: (device: LiveDevice) => void;
  /** A device's answer to a verification challenge. */
  onVerifyResult?: (device: LiveDevice, message: VerifyResultMessage) => void;
  /** Milliseconds from a heartbeat's signed `sentAt` to the moment it moved the device's in-memory lastSeen. */
  observeHeartbeatLag?: (ms: number) => void;
}

/** The agent gateway: WebSocket upgrades on /v1/agent become AgentSessions. */
export class AgentGateway {
  private readonly wss: WebSocketServer;
  private readonly sessions = new Map<number, AgentSession>();

  constructor(private readonly o: GatewayOptions) {
    // Frames above the protocol limit still reach the session (which answers with a coded
    // error); only absurd frames are cut by ws itself (close code 1009).
    this.wss = new WebSocketServer({ noServer: true, maxPayload: AGENT_MESSAGE_LIMIT_BYTES * 16 });
  }

  get connections(): number {
    return this.sessions.size;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const session = new AgentSession(ws, {
        clock: this.o.clock,
        logger: this.o.logger,
        heartbeatSeconds: this.o.heartbeatSeconds,
        nodeLossSeconds: this.o.nodeLossSeconds,
        helloTimeoutSeconds: this.o.helloTimeoutSeconds,
        ...(this.o.messageRate ? { messageRate: this.o.messageRate } : {}),
        countMessage: this.o.countMessage,
        onHello: (s, hello) => this.register(s, hello),
        onMessage: (s, message) => this.dispatch(s, message),
        onClose: (s) => this.closed(s),
        onWelcomed: (s) => this.welcomed(s),
      }, remoteIp(req));
      this.sessions.set(session.id, session);
    });
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.close(1001, 'server shutting down');
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private async register(session: AgentSession, hello: HelloMessage): Promise<void> {
    const now = this.o.clock.now();
    const id = toDeviceId(hello.deviceKey);
    const pricePerGpuHour = parseUsd(hello.pricePerGpuHour);
    const record = await this.o.store.devices.upsertOnHello({
      id,
      hardware: hello.hardware,
      gpuModel: hello.hardware.offer.model,
      gpuCount: hello.hardware.offer.slots,
      region: hello.region,
      pricePerGpuHour,
      payout: hello.payout,
      agentVersion: hello.agentVersion,
      nowMs: now,
    });
    const previous = this.o.registry.connect({
      id,
      sessionId: session.id,
      gpuModel: hello.hardware.offer.model,
      slots: hello.hardware.offer.slots,
      region: hello.region,
      pricePerGpuHour,
      payout: hello.payout,
      hardware: hello.hardware,
      agentVersion: hello.agentVersion,
      connectedAtMs: now,
      firstSeenMs: record.firstSeenMs,
      lastSeenMs: now,
      tier: record.tier,
      reputation: record.reputation,
      verified: record.verified,
      coordinate: null,
      echoAddress: hello.echoPort !== undefined && session.remoteIp ? hostPort(session.remoteIp, hello.echoPort) : null,
      send: (message) => session.send(message),
      disconnect: (code, reason) => {
        if (code === 'AGENT_SILENT') session.close('AGENT_SILENT', { seconds: this.o.nodeLossSeconds });
        else if (code === 'AGENT_REPLACED') session.close('AGENT_REPLACED', { deviceId: id });
        else this.o.logger.debug({ deviceId: id, reason }, 'device disconnected');
      },
    });
    if (previous && previous.sessionId !== session.id) previous.disconnect('AGENT_REPLACED', 'same device connected again');
    this.o.logger.info({ deviceId: id, model: hello.hardware.offer.model, slots: hello.hardware.offer.slots, region: hello.region }, 'device online');
  }

  private dispatch(session: AgentSession, message: AgentSessionMessage): void {
    if (!session.deviceId) return;
    const now = this.o.clock.now();
    // Every authenticated message proves the device alive; heartbeats also move it.
    this.o.registry.heartbeat(session.deviceId, session.id, now, message.type === 'heartbeat' ? message.coordinate : null);
    const device = this.o.registry.get(session.deviceId);
    if (!device || device.sessionId !== session.id) return;
    switch (message.type) {
      case 'heartbeat':
        this.o.observeHeartbeatLag?.(Math.max(0, now - message.sentAt));
        this.o.onRunningLeases?.(device, message.leases);
        break;
      case 'lease-status':
        this.o.onLeaseStatus?.(device, message);
        break;
      case 'probe-result':
        this.o.onProbeResult?.(device, message);
        break;
      case 'verify-result':
        this.o.onVerifyResult?.(device, message);
        break;
    }
  }

  private welcomed(session: AgentSession): void {
    const device = session.deviceId ? this.o.registry.get(session.deviceId) : undefined;
    if (device?.sessionId === session.id) this.o.onDeviceReady?.(device);
  }

  private closed(session: AgentSession): void {
    this.sessions.delete(session.id);
    const id = session.deviceId;
    if (!id) return;
    const device = this.o.registry.get(id);
    if (device?.sessionId !== session.id) return;
    this.o.liveness.markLost(device, 'CLOSED', 'connection closed').catch((err: unknown) => {
      this.o.logger.error({ err, deviceId: id }, 'could not record device offline');
    });
  }
}

function remoteIp(req: IncomingMessage): string | null {
  const ip = req.socket.remoteAddress;
  if (!ip) return null;
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}
