import type { Logger } from 'pino';
import type { Address, Clock, DeviceId, LeaseId, MicroUsd, RandomSource } from '@idlegrid/domain';
import type { Placement } from '@idlegrid/scheduler';
import type { Store } from '@idlegrid/store';
import type { DeviceRegistry } from '../live/device-registry.ts';
import type { Capacity } from '../scheduling/capacity.ts';
import type { RayInspector } from './ray-inspector.ts';

export interface LeaseControllerOptions {
  store: Store;
  capacity: Capacity;
  registry: DeviceRegistry;
  inspector: RayInspector;
  clock: Clock;
  random: RandomSource;
  logger: Logger;
  /** A node that has not joined this long after its assignment is swapped for another device. */
  provisionTimeoutSeconds: number;
  /** How long releasing waits for agents to confirm before ending the nodes anyway. */
  releaseTimeoutSeconds: number;
  /** How often every active lease is reconciled. */
  tickSeconds: number;
  /** The IO reference price that turns a lease's USD price into the IO reserved from escrow. */
  ioUsdPrice: MicroUsd;
  /** Called after escrow changed (a booking, an extension, a lease ended) so settlement acts soon. */
  onEscrowChange?: () => void;
  /** Called after a lease or its nodes changed (follower replicas then re-read reservations). */
  onLeasesChanged?: () => void;
  /**
   * Whether this control plane runs the leases now (default: always). A follower replica leaves
   * device losses to the leader, which hears of them too.
   */
  leading?: () => boolean;
  /**
   * Called once when a node that had joined its running cluster is lost (device gone or Ray reports
   * it dead) instead of being released: the supplier abandoned the lease (slash_abandon_bps).
   */
  onNodeAbandoned?: (abandoned: NodeAbandoned) => Promise<void>;
}

export interface NodeAbandoned {
  leaseId: LeaseId;
  nodeId: number;
  deviceId: DeviceId;
  /** The buyer the slash compensates. */
  buyer: Address;
  reason: string;
}

/** Adds one node per placed device; the first becomes the head when `withHead`. */
export async function addNodes(store: Store, leaseId: LeaseId, placement: Placement, withHead: boolean, nowMs: number): Promise<void> {
  let first = withHead;
  for (const d of placement.devices) {
    await store.leases.addNode({
      leaseId,
      deviceId: d.deviceId,
      role: first ? 'head' : 'worker',
      slots: d.slots,
      pricePerGpuHour: d.pricePerGpuHour,
      state: 'assigned',
      rayNodeId: null,
      endpoint: null,
      assignedAtMs: nowMs,
      joinedAtMs: null,
      lastSeenMs: null,
      endedAtMs: null,
      endReason: null,
    });
    first = false;
  }
}
