import { microUsd, newLeaseId, seededRandom, type Address, type DeviceId, type LeaseId, type RegionId } from '@idlegrid/domain';
import type { Store } from '@idlegrid/store';
import { leaseTermsHash } from '../settlement/lease-terms.ts';
import { CPU_HARDWARE } from './test-agent.ts';

export interface SeedNode {
  device: DeviceId;
  payout: Address;
  slots: number;
  /** MicroUsd per GPU-hour. */
  price: bigint;
  joinedAtMs: number | null;
  endedAtMs: number | null;
  /** The agent's signed cumulative usage (default: plenty). */
  reportedSeconds?: number;
  /** When the control plane last saw it alive (default: its end, or the lease's expiry while it runs). */
  lastSeenMs?: number;
}

export interface SeedLease {
  buyer: Address;
  createdAtMs: number;
  readyAtMs: number | null;
  /** null: the lease is still ready. */
  endedAtMs: number | null;
  expiresAtMs: number;
  reservedIo: bigint;
  nodes: SeedNode[];
  /** Seed for the lease id. */
  seed?: number;
}

/**
 * Writes a lease as the lease controller would have left it (devices, lease, nodes, escrow
 * reservation, the agents' usage reports), for settlement tests that need exact times. The buyer's
 * escrow balance must cover `reservedIo`.
 */
export async function seedLease(store: Store, s: SeedLease): Promise<LeaseId> {
  const id = newLeaseId(seededRandom(s.seed ?? s.createdAtMs));
  for (const n of s.nodes) {
    await store.devices.upsertOnHello({
      id: n.device, hardware: CPU_HARDWARE, gpuModel: 'cpu', gpuCount: n.slots, region: 'local' as RegionId, pricePerGpuHour: microUsd(n.price),
      payout: n.payout, agentVersion: 'test', nowMs: s.createdAtMs,
    });
  }
  await store.transaction(async (tx) => {
    const pricePerHour = s.nodes.reduce((sum, n) => sum + n.price * BigInt(n.slots), 0n);
    const lease = await tx.leases.create({
      id, buyer: s.buyer, name: null, state: s.endedAtMs === null ? 'ready' : 'ended', gpuModel: 'cpu', slots: s.nodes.reduce((k, n) => k + n.slots, 0),
      topology: 'tight', request: { gpu: 'cpu', count: 1, hours: 1, topology: 'tight', pay: 'IO', verifiedOnly: false }, pricePerHour: microUsd(pricePerHour),
      rayToken: 'token', headDeviceId: s.nodes[0]?.device ?? null, createdAtMs: s.createdAtMs, readyAtMs: s.readyAtMs, expiresAtMs: s.expiresAtMs,
      endedAtMs: s.endedAtMs, failureReason: null, notices: [],
    });
    for (const [i, n] of s.nodes.entries()) {
      await tx.leases.addNode({
        leaseId: id, deviceId: n.device, role: i === 0 ? 'head' : 'worker', slots: n.slots, pricePerGpuHour: microUsd(n.price),
        state: n.endedAtMs === null ? 'joined' : 'released', rayNodeId: `ray-${i}`, endpoint: null, assignedAtMs: s.createdAtMs,
        joinedAtMs: n.joinedAtMs, lastSeenMs: n.lastSeenMs ?? n.endedAtMs ?? (n.joinedAtMs === null ? null : s.expiresAtMs), endedAtMs: n.endedAtMs, endReason: n.endedAtMs === null ? null : 'released',
      });
    }
    if (!(await tx.escrow.open({ leaseId: id, buyer: s.buyer, reservedIo: s.reservedIo, termsHash: leaseTermsHash(lease, await tx.leases.nodes(id), s.reservedIo) }, s.createdAtMs))) {
      throw new Error(`seedLease: ${s.buyer} cannot cover ${s.reservedIo}`);
    }
    await tx.settlement.recordUsage(s.nodes.map((n) => ({ leaseId: id, deviceId: n.device, reportedSeconds: n.reportedSeconds ?? 1e9, atMs: s.createdAtMs })));
  });
  return id;
}
