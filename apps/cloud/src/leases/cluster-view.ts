import { formatDecimal } from '@idlegrid/domain';
import { clusterRequestSchema, rayEndpointSchema, type ClusterView } from '@idlegrid/protocol';
import type { LeaseNodeRecord, LeaseRecord } from '@idlegrid/store';
import { billableSeconds } from '../settlement/metering.ts';


/** The API view of a lease (never includes the Ray token). */
export function clusterView(lease: LeaseRecord, nodes: LeaseNodeRecord[], baseUrl: string, nowMs: number): ClusterView {
  let accrued = 0n;
  const nodeViews = nodes.map((n) => {
    const seconds = billableSeconds(lease, n, nowMs);
    accrued += (BigInt(seconds) * n.pricePerGpuHour * BigInt(n.slots)) / 3600n;
    const endpoint = rayEndpointSchema.safeParse(n.endpoint);
    return {
      deviceId: n.deviceId,
      role: n.role,
      slots: n.slots,
      state: n.state,
      pricePerGpuHour: formatDecimal(n.pricePerGpuHour),
      rayNodeId: n.rayNodeId,
      nodeIp: endpoint.success ? endpoint.data.nodeIp : null,
      assignedAt: n.assignedAtMs,
      joinedAt: n.joinedAtMs,
      endedAt: n.endedAtMs,
      endReason: n.endReason,
      billedSeconds: seconds,
    };
  });
  return {
    id: lease.id,
    name: lease.name,
    state: lease.state,
    gpuModel: lease.gpuModel,
    slots: lease.slots,
    topology: lease.topology,
    request: clusterRequestSchema.parse(lease.request),
    pricePerHour: formatDecimal(lease.pricePerHour),
    createdAt: lease.createdAtMs,
    readyAt: lease.readyAtMs,
    expiresAt: lease.expiresAtMs,
    endedAt: lease.endedAtMs,
    failureReason: lease.failureReason,
    notices: lease.notices,
    headDeviceId: lease.headDeviceId,
    endpoints: { ray: `${baseUrl}/v1/clusters/${lease.id}/ray`, serve: `${baseUrl}/v1/clusters/${lease.id}/serve` },
    nodes: nodeViews,
    accruedUsd: formatDecimal(accrued),
  };
}
