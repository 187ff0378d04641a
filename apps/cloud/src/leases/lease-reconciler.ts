import type { DeviceId, LeaseId } from '@idlegrid/domain';
import { rayEndpointSchema, type LeaseStatusMessage, type RayEndpoint } from '@idlegrid/protocol';
import type { ClusterRequest } from '@idlegrid/protocol';
import { ACTIVE_NODE_STATES, isWindingDown, type LeaseNodeRecord, type LeaseRecord, type LeaseState } from '@idlegrid/store';
import { toPlacementRequest } from '../scheduling/quote-view.ts';
import { addNodes, type LeaseControllerOptions } from './lease-types.ts';

const isActive = (n: LeaseNodeRecord) => (ACTIVE_NODE_STATES as readonly string[]).includes(n.state);

/**
 * One step of the lease state machine. Every method runs under the lease's mutex (see
 * LeaseController) and reads the store afresh, so it is safe to call again at any time.
 */
export class LeaseReconciler {
  private readonly assignSent = new Set<number>();
  private readonly releaseSentAt = new Map<number, number>();
  /** Active node ids per device, so heartbeats can keep their nodes' lastSeen fresh. */
  readonly nodesByDevice = new Map<DeviceId, Set<number>>();
  private readonly nodeLease = new Map<number, LeaseId>();

  constructor(private readonly o: LeaseControllerOptions) {}

  async beginRelease(lease: LeaseRecord, reason: string): Promise<LeaseRecord> {
    if (isWindingDown(lease.state)) return lease;
    const now = this.o.clock.now();
    const updated = await this.o.store.leases.update(lease.id, lease.version, {
      state: 'releasing',
      notices: [...lease.notices, { atMs: now, text: `releasing: ${reason}` }],
    });
    if (!updated) return (await this.o.store.leases.get(lease.id)) ?? lease;
    await this.event(lease.id, 'lease.releasing', { reason });
    return updated;
  }

  async applyStatus(deviceId: DeviceId, m: LeaseStatusMessage): Promise<void> {
    const node = (await this.o.store.leases.nodes(m.leaseId)).find((n) => n.deviceId === deviceId && isActive(n));
    if (!node) return;
    const now = this.o.clock.now();
    switch (m.state) {
      case 'starting':
        if (node.state === 'assigned') await this.o.store.leases.updateNode(node.id, { state: 'starting' });
        return;
      case 'joined':
        // The agent's word only records where the node is; Ray's own API decides "joined".
        await this.o.store.leases.updateNode(node.id, {
          state: node.state === 'assigned' ? 'starting' : node.state,
          rayNodeId: m.rayNodeId,
          endpoint: m.endpoint,
        });
        return;
      case 'failed':
      case 'stopped':
        // The agent answers each lease's messages in order and acknowledges an assign with
        // `starting` first, so a stop or failure for a node it has not acknowledged yet is
        // about an earlier node of this lease on the device (e.g. the one a head re-form replaced).
        if (node.state === 'assigned') return;
        await this.endNode(node, m.state === 'failed' ? 'failed' : 'released', now, m.reason ?? `agent reported ${m.state}`);
        return;
    }
  }

  async nodeLost(nodeId: number, lastSeenMs: number, reason: string): Promise<void> {
    const node = await this.o.store.leases.getNode(nodeId);
    if (!node || !isActive(node)) return;
    await this.endNode(node, 'lost', Math.max(lastSeenMs, node.joinedAtMs ?? 0), reason);
  }

  async reconcile(id: LeaseId): Promise<void> {
    let lease = await this.o.store.leases.get(id);
    if (!lease || lease.state === 'ended' || lease.state === 'failed') return;
    const now = this.o.clock.now();
    if (lease.state === 'releasing') return this.continueRelease(lease, now);
    if (now >= lease.expiresAtMs) {
      await this.beginRelease(lease, 'the booked time is over');
      return this.continueRelease((await this.o.store.leases.get(id)) ?? lease, now);
    }
    if (lease.readyAtMs === null && now - lease.createdAtMs > 2 * this.o.provisionTimeoutSeconds * 1000) {
      return this.fail(lease, `could not provision ${lease.slots} slot(s) within ${2 * this.o.provisionTimeoutSeconds} s (devices kept failing to join Ray and no replacement fit)`, now);
    }
    await this.expireSlowNodes((await this.o.store.leases.nodes(id)).filter(isActive), now);
    let active = (await this.o.store.leases.nodes(id)).filter(isActive);
    if (!active.some((n) => n.role === 'head') && active.length > 0) {
      lease = await this.reform(lease, active, now);
      active = (await this.o.store.leases.nodes(id)).filter(isActive);
    }
    if (await this.replaceMissing(lease, active, now)) active = (await this.o.store.leases.nodes(id)).filter(isActive);

    const head = active.find((n) => n.role === 'head');
    const headEndpoint = head ? endpointOf(head) : null;
    this.sendAssignments(lease, active, headEndpoint);
    if (headEndpoint?.dashboardUrl) await this.confirmWithRay(lease, active, headEndpoint.dashboardUrl, now);

    active = (await this.o.store.leases.nodes(id)).filter(isActive);
    lease = (await this.o.store.leases.get(id)) ?? lease;
    this.trackDevices(id, active);
    const slots = active.reduce((n, x) => n + x.slots, 0);
    const allJoined = active.length > 0 && slots === lease.slots && active.every((n) => n.state === 'joined');
    const next: LeaseState = allJoined ? 'ready' : lease.readyAtMs !== null ? 'degraded' : 'provisioning';
    const headDeviceId = active.find((n) => n.role === 'head')?.deviceId ?? null;
    if (next !== lease.state || headDeviceId !== lease.headDeviceId) {
      const updated = await this.o.store.leases.update(id, lease.version, {
        state: next,
        headDeviceId,
        ...(next === 'ready' && lease.readyAtMs === null ? { readyAtMs: now } : {}),
      });
      if (updated && next !== lease.state) {
        this.o.logger.info({ leaseId: id, from: lease.state, to: next }, 'lease state');
        await this.event(id, `lease.${next}`, { nodes: active.length });
      }
    }
  }

  private async continueRelease(lease: LeaseRecord, now: number): Promise<void> {
    const active = (await this.o.store.leases.nodes(lease.id)).filter(isActive);
    for (const n of active) {
      const device = this.o.registry.get(n.deviceId);
      const sentAt = this.releaseSentAt.get(n.id);
      if (!device) {
        await this.endNode(n, 'released', n.lastSeenMs ?? now, 'device offline at release');
      } else if (sentAt === undefined) {
        if (device.send({ type: 'release', leaseId: lease.id, reason: 'cluster released' })) this.releaseSentAt.set(n.id, now);
      } else if (now - sentAt > this.o.releaseTimeoutSeconds * 1000) {
        await this.endNode(n, 'released', now, 'agent did not confirm the release in time');
      }
    }
    const left = (await this.o.store.leases.nodes(lease.id)).filter(isActive);
    this.trackDevices(lease.id, left);
    if (left.length > 0) return;
    const current = (await this.o.store.leases.get(lease.id)) ?? lease;
    if (await this.o.store.leases.update(lease.id, current.version, { state: 'ended', endedAtMs: now })) {
      this.o.logger.info({ leaseId: lease.id }, 'lease ended');
      await this.event(lease.id, 'lease.ended', {});
      this.o.onEscrowChange?.();
    }
  }

  /** Gives up on a lease that never became ready: stops whatever started and says why. */
  private async fail(lease: LeaseRecord, reason: string, now: number): Promise<void> {
    for (const n of (await this.o.store.leases.nodes(lease.id)).filter(isActive)) {
      this.o.registry.get(n.deviceId)?.send({ type: 'release', leaseId: lease.id, reason: 'the cluster failed to provision' });
      await this.endNode(n, 'failed', now, reason);
    }
    const current = (await this.o.store.leases.get(lease.id)) ?? lease;
    if (await this.o.store.leases.update(lease.id, current.version, { state: 'failed', failureReason: reason, endedAtMs: now })) {
      this.o.logger.warn({ leaseId: lease.id, reason }, 'lease failed');
      await this.event(lease.id, 'lease.failed', { reason });
      this.o.onEscrowChange?.();
    }
  }

  /** The head is gone: restart the surviving nodes around a new head on one of them. */
  private async reform(lease: LeaseRecord, survivors: LeaseNodeRecord[], now: number): Promise<LeaseRecord> {
    const [newHead] = survivors;
    if (!newHead) return lease;
    for (const n of survivors) this.o.registry.get(n.deviceId)?.send({ type: 'release', leaseId: lease.id, reason: 'the head was lost; re-forming the cluster' });
    const notice = { atMs: now, text: `the Ray head was lost; the cluster is re-formed with its head on device ${newHead.deviceId}. Running jobs were lost: resubmit them.` };
    const updated = await this.o.store.transaction(async (tx) => {
      for (const n of survivors) await tx.leases.updateNode(n.id, { state: 'released', endedAtMs: now, endReason: 're-forming after head loss' });
      let first = true;
      for (const n of survivors) {
        await tx.leases.addNode({
          leaseId: lease.id, deviceId: n.deviceId, role: first ? 'head' : 'worker', slots: n.slots, pricePerGpuHour: n.pricePerGpuHour,
          state: 'assigned', rayNodeId: null, endpoint: null, assignedAtMs: now, joinedAtMs: null, lastSeenMs: null, endedAtMs: null, endReason: null,
        });
        first = false;
      }
      return tx.leases.update(lease.id, lease.version, { notices: [...lease.notices, notice], headDeviceId: newHead.deviceId });
    });
    this.o.logger.warn({ leaseId: lease.id, newHead: newHead.deviceId }, 'head lost; re-forming');
    await this.event(lease.id, 'lease.reformed', { head: newHead.deviceId });
    return updated ?? lease;
  }

  /** Places replacements for slots the lease lost (same constraints, other devices). */
  private async replaceMissing(lease: LeaseRecord, active: LeaseNodeRecord[], now: number): Promise<boolean> {
    const missing = lease.slots - active.reduce((n, x) => n + x.slots, 0);
    if (missing <= 0) return false;
    const request = { ...toPlacementRequest(lease.request as ClusterRequest), count: missing };
    // Devices already in the lease, or that already failed to join it, are not candidates.
    const failed = (await this.o.store.leases.nodes(lease.id)).filter((n) => n.state === 'failed').map((n) => n.deviceId);
    const result = this.o.capacity.quoteExcluding(request, new Set<string>([...active.map((n) => n.deviceId), ...failed]));
    if (!result.feasible || !this.o.capacity.reserve(result)) {
      this.o.logger.debug({ leaseId: lease.id, missing }, 'no replacement available yet');
      return false;
    }
    await addNodes(this.o.store, lease.id, result, !active.some((n) => n.role === 'head'), now);
    const text = `replacing ${missing} slot(s) with device(s) ${result.devices.map((d) => d.deviceId).join(', ')}`;
    if (lease.readyAtMs !== null) await this.o.store.leases.update(lease.id, lease.version, { notices: [...lease.notices, { atMs: now, text }] });
    await this.event(lease.id, 'lease.replacement', { devices: result.devices.map((d) => d.deviceId) });
    return true;
  }

  private sendAssignments(lease: LeaseRecord, active: LeaseNodeRecord[], head: RayEndpoint | null): void {
    for (const n of active) {
      if (n.state !== 'assigned' || this.assignSent.has(n.id)) continue;
      if (n.role === 'worker' && !(head?.gcsAddress && head.dashboardUrl)) continue;
      const device = this.o.registry.get(n.deviceId);
      const sent = device?.send({
        type: 'assign',
        leaseId: lease.id,
        role: n.role,
        head: n.role === 'head' || !head?.gcsAddress || !head.dashboardUrl ? null : { gcsAddress: head.gcsAddress, dashboardUrl: head.dashboardUrl },
        rayToken: lease.rayToken,
        resources: { gpus: lease.gpuModel === 'cpu' ? 0 : n.slots, cpus: lease.gpuModel === 'cpu' ? n.slots : Math.max(1, n.slots * 4) },
        expiresAt: lease.expiresAtMs,
      });
      if (sent) this.assignSent.add(n.id);
    }
  }

  private async expireSlowNodes(active: LeaseNodeRecord[], now: number): Promise<void> {
    const limit = this.o.provisionTimeoutSeconds * 1000;
    for (const n of active) {
      if (n.state === 'joined' || now - n.assignedAtMs <= limit) continue;
      this.o.registry.get(n.deviceId)?.send({ type: 'release', leaseId: n.leaseId, reason: 'did not join in time' });
      await this.endNode(n, 'failed', now, `did not join within ${this.o.provisionTimeoutSeconds} s`);
    }
  }

  private async confirmWithRay(lease: LeaseRecord, active: LeaseNodeRecord[], dashboardUrl: string, now: number): Promise<void> {
    let nodes;
    try {
      nodes = await this.o.inspector.nodes(dashboardUrl, lease.rayToken);
    } catch (err) {
      this.o.logger.debug({ err, leaseId: lease.id }, 'head not answering yet');
      return;
    }
    const alive = new Set(nodes.filter((n) => n.alive).map((n) => n.nodeId));
    const dead = new Set(nodes.filter((n) => !n.alive).map((n) => n.nodeId));
    for (const n of active) {
      if (!n.rayNodeId) continue;
      if (n.state !== 'joined' && alive.has(n.rayNodeId)) {
        await this.o.store.leases.updateNode(n.id, { state: 'joined', joinedAtMs: now, lastSeenMs: now });
      } else if (n.state === 'joined' && dead.has(n.rayNodeId)) {
        await this.endNode(n, 'lost', n.lastSeenMs ?? now, 'Ray reports the node dead');
      }
    }
  }

  private async endNode(n: LeaseNodeRecord, state: 'lost' | 'released' | 'failed', atMs: number, reason: string): Promise<void> {
    const updated = await this.o.store.leases.updateNode(n.id, { state, endedAtMs: atMs, endReason: reason });
    if (!updated) return;
    this.o.capacity.release(n.deviceId, n.slots);
    this.nodesByDevice.get(n.deviceId)?.delete(n.id);
    this.o.logger.info({ leaseId: n.leaseId, deviceId: n.deviceId, state, reason }, 'lease node ended');
    await this.event(n.leaseId, `node.${state}`, { deviceId: n.deviceId, reason, atMs });
    if (state === 'lost' && n.state === 'joined' && this.o.onNodeAbandoned) {
      const lease = await this.o.store.leases.get(n.leaseId);
      if (lease) {
        // The slash is recorded by the staking service before anything moves; a failure here is logged, not retried.
        await this.o.onNodeAbandoned({ leaseId: n.leaseId, nodeId: n.id, deviceId: n.deviceId, buyer: lease.buyer, reason }).catch((err: unknown) =>
          this.o.logger.error({ err, leaseId: n.leaseId, deviceId: n.deviceId }, 'abandonment slash failed'));
      }
    }
  }

  /** Replaces the whole node index with the active nodes of every lease, as the store has them. */
  trackAll(active: readonly LeaseNodeRecord[]): void {
    this.nodeLease.clear();
    this.nodesByDevice.clear();
    for (const n of active) this.indexNode(n);
  }

  private trackDevices(leaseId: LeaseId, active: LeaseNodeRecord[]): void {
    const keep = new Set(active.map((n) => n.id));
    for (const [nodeId, owner] of this.nodeLease) {
      if (owner !== leaseId || keep.has(nodeId)) continue;
      this.nodeLease.delete(nodeId);
      for (const set of this.nodesByDevice.values()) set.delete(nodeId);
    }
    for (const n of active) this.indexNode(n);
  }

  private indexNode(n: LeaseNodeRecord): void {
    this.nodeLease.set(n.id, n.leaseId);
    const set = this.nodesByDevice.get(n.deviceId) ?? new Set<number>();
    set.add(n.id);
    this.nodesByDevice.set(n.deviceId, set);
  }

  /** Every change of a lease or its nodes is recorded as an event; followers hear of it too. */
  private async event(subject: string, kind: string, data: Record<string, string | number | null | string[]>): Promise<void> {
    await this.o.store.events.append({ kind, subject, data, atMs: this.o.clock.now() });
    this.o.onLeasesChanged?.();
  }
}

function endpointOf(n: LeaseNodeRecord): RayEndpoint | null {
  const parsed = rayEndpointSchema.safeParse(n.endpoint);
  return parsed.success ? parsed.data : null;
}
