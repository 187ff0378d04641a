import { randomBytes } from 'node:crypto';
import { IdlegridError, newLeaseId, type Address, type DeviceId, type LeaseId } from '@idlegrid/domain';
import type { ClusterRequest, LeaseStatusMessage } from '@idlegrid/protocol';
import { isWindingDown, type LeaseRecord } from '@idlegrid/store';
import type { LiveDevice } from '../live/device-registry.ts';
import { toPlacementRequest } from '../scheduling/quote-view.ts';
import { insufficientEscrow, leaseTermsHash } from '../settlement/lease-terms.ts';
import { reservationIo } from '../settlement/metering.ts';
import { KeyedMutex } from './keyed-mutex.ts';
import { LeaseReconciler } from './lease-reconciler.ts';
import { addNodes, type LeaseControllerOptions } from './lease-types.ts';

/**
 * The lease lifecycle. Buyers' requests (book, extend, release) and events (agent lease
 * status, device loss) change the store; `reconcile` then drives each lease towards what
 * its record says, one lease at a time (a per-lease mutex), so crashes and restarts only
 * ever need another reconcile.
 */
export class LeaseController {
  private readonly locks = new KeyedMutex();
  private readonly reconciler: LeaseReconciler;
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;

  constructor(private readonly o: LeaseControllerOptions) {
    this.reconciler = new LeaseReconciler(o);
    o.registry.subscribe({ removed: (d) => this.deviceLost(d) });
  }

  /** Restores slot reservations of active leases and starts the reconcile loop. */
  async start(): Promise<void> {
    await this.refreshIndex();
    this.timer = setInterval(() => void this.tick(), this.o.tickSeconds * 1000);
    this.timer.unref();
  }

  /**
   * Re-reads from the store which slots active leases hold and which devices serve them: at
   * start, and on a follower replica whenever the leader changed leases (so its quotes and its
   * heartbeat flushes of lease nodes follow the leader's bookings).
   */
  async refreshIndex(): Promise<void> {
    this.o.capacity.replaceReservations(await this.o.store.leases.activeSlotsByDevice());
    this.reconciler.trackAll(await this.o.store.leases.activeNodes());
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.locks.idle();
  }

  /** Books a cluster: places it, reserves the slots, records the lease and its nodes. */
  async book(buyer: Address, request: ClusterRequest): Promise<LeaseRecord> {
    const placementRequest = toPlacementRequest(request);
    const result = this.o.capacity.quote(placementRequest);
    if (!result.feasible) {
      throw new IdlegridError('NO_CAPACITY', {
        reason: result.reason,
        available: result.available,
        alternatives: result.alternatives.map((a) => a.summary),
      });
    }
    if (!this.o.capacity.reserve(result)) {
      throw new IdlegridError('NO_CAPACITY', { reason: 'the slots were just taken by another booking', available: 0, alternatives: [] });
    }
    const now = this.o.clock.now();
    const id = newLeaseId(this.o.random);
    const durationMs = Math.round(request.hours * 3_600_000);
    const reserve = reservationIo(result.pricePerHour, durationMs, { ioUsdPrice: this.o.ioUsdPrice });
    try {
      const lease = await this.o.store.transaction(async (tx) => {
        const created = await tx.leases.create({
          id,
          buyer,
          name: request.name ?? null,
          state: 'provisioning',
          gpuModel: result.request.model,
          slots: result.slots,
          topology: request.topology,
          request,
          pricePerHour: result.pricePerHour,
          rayToken: randomBytes(32).toString('base64url'),
          headDeviceId: null,
          createdAtMs: now,
          readyAtMs: null,
          expiresAtMs: now + durationMs,
          endedAtMs: null,
          failureReason: null,
          notices: [],
        });
        await addNodes(tx, created.id, result, true, now);
        if (!(await tx.escrow.open({ leaseId: id, buyer, reservedIo: reserve, termsHash: leaseTermsHash(created, await tx.leases.nodes(id), reserve) }, now))) {
          throw insufficientEscrow(buyer, reserve, await tx.wallets.balance(buyer));
        }
        await tx.events.append({ kind: 'lease.created', subject: id, data: { buyer, slots: result.slots, pricePerHour: result.pricePerHour.toString(), reservedIo: reserve.toString() }, atMs: now });
        return created;
      });
      this.o.onEscrowChange?.();
      this.o.onLeasesChanged?.();
      this.o.logger.info({ leaseId: id, devices: result.devices.length, slots: result.slots }, 'lease booked');
      this.schedule(id);
      return lease;
    } catch (e) {
      for (const d of result.devices) this.o.capacity.release(d.deviceId, d.slots);
      throw e;
    }
  }

  async extend(id: LeaseId, buyer: Address, hours: number): Promise<LeaseRecord> {
    return this.locks.run(id, async () => {
      const lease = await this.owned(id, buyer);
      if (isWindingDown(lease.state)) {
        throw new IdlegridError('LEASE_NOT_ACTIVE', { id, state: lease.state });
      }
      const extraMs = Math.round(hours * 3_600_000);
      const more = reservationIo(lease.pricePerHour, extraMs, { ioUsdPrice: this.o.ioUsdPrice });
      const updated = await this.o.store.transaction(async (tx) => {
        if (!(await tx.escrow.reserveMore(id, more, this.o.clock.now()))) throw insufficientEscrow(buyer, more, await tx.wallets.balance(buyer));
        const next = await tx.leases.update(id, lease.version, { expiresAtMs: lease.expiresAtMs + extraMs });
        if (!next) throw new IdlegridError('LEASE_BUSY', { id });
        return next;
      });
      this.o.onEscrowChange?.();
      return updated;
    });
  }

  async release(id: LeaseId, buyer: Address | null, reason: string): Promise<LeaseRecord> {
    const lease = await this.locks.run(id, async () => {
      const current = buyer ? await this.owned(id, buyer) : await this.o.store.leases.get(id);
      if (!current) throw new IdlegridError('NOT_FOUND', { resource: 'cluster', id });
      return this.reconciler.beginRelease(current, reason);
    });
    this.schedule(id);
    return lease;
  }

  /** The lease if `buyer` owns it; another buyer's lease is reported as missing. */
  async owned(id: LeaseId, buyer: Address): Promise<LeaseRecord> {
    const lease = await this.o.store.leases.get(id);
    if (!lease || lease.buyer !== buyer) throw new IdlegridError('NOT_FOUND', { resource: 'cluster', id });
    return lease;
  }

  onLeaseStatus(deviceId: DeviceId, message: LeaseStatusMessage): void {
    void this.locks
      .run(message.leaseId, () => this.reconciler.applyStatus(deviceId, message))
      .then(() => this.schedule(message.leaseId), (err: unknown) => this.o.logger.error({ err, deviceId }, 'lease status failed'));
  }

  /** Heartbeats keep the lastSeen of the devices' active lease nodes fresh (where billing stops if they vanish). */
  async touchNodes(devices: readonly LiveDevice[]): Promise<void> {
    const rows: Array<{ id: number; lastSeenMs: number }> = [];
    for (const d of devices) for (const id of this.reconciler.nodesByDevice.get(d.id) ?? []) rows.push({ id, lastSeenMs: d.lastSeenMs });
    if (rows.length > 0) await this.o.store.leases.touchNodes(rows);
  }

  /**
   * A heartbeat's leases: the agent's signed usage of the ones the device really serves is
   * recorded (the cap on billing); leases the control plane no longer has on that device get released.
   */
  onRunningLeases(device: LiveDevice, leases: ReadonlyArray<{ leaseId: LeaseId; gpuSeconds: number }>): void {
    if (leases.length === 0) return;
    const now = this.o.clock.now();
    void this.o.store.leases
      .activeNodesOnDevice(device.id)
      .then(async (nodes) => {
        const active = new Set<string>(nodes.map((n) => n.leaseId));
        const usage = leases.filter((l) => active.has(l.leaseId)).map((l) => ({ leaseId: l.leaseId, deviceId: device.id, reportedSeconds: l.gpuSeconds, atMs: now }));
        for (const l of leases) {
          if (!active.has(l.leaseId)) device.send({ type: 'release', leaseId: l.leaseId, reason: 'this device is no longer part of the lease' });
        }
        if (usage.length > 0) await this.o.store.settlement.recordUsage(usage);
      })
      .catch((err: unknown) => this.o.logger.error({ err }, 'running-lease check failed'));
  }

  /** A device left the registry: its active nodes end at its last heartbeat (the leader's job). */
  deviceLost(device: Pick<LiveDevice, 'id' | 'lastSeenMs'>): void {
    if (this.o.leading && !this.o.leading()) return;
    void this.o.store.leases.activeNodesOnDevice(device.id).then(
      (nodes) => {
        for (const node of nodes) {
          void this.locks
            .run(node.leaseId, () => this.reconciler.nodeLost(node.id, device.lastSeenMs, 'device offline'))
            .then(() => this.schedule(node.leaseId), (err: unknown) => this.o.logger.error({ err }, 'node loss failed'));
        }
      },
      (err: unknown) => this.o.logger.error({ err, deviceId: device.id }, 'device loss lookup failed'),
    );
  }

  /** Reconciles one lease now (serialized with everything else touching it). */
  reconcile(id: LeaseId): Promise<void> {
    return this.locks.run(id, () => this.reconciler.reconcile(id));
  }

  private schedule(id: LeaseId): void {
    void this.reconcile(id).catch((err: unknown) => this.o.logger.error({ err, leaseId: id }, 'reconcile failed'));
  }

  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      for (const lease of await this.o.store.leases.listActive()) await this.reconcile(lease.id);
    } catch (err) {
      this.o.logger.error({ err }, 'lease tick failed');
    } finally {
      this.ticking = false;
    }
  }
}
