import { formatDecimal } from '@idlegrid/domain';
import { hardwareReportSchema, type DeviceView } from '@idlegrid/protocol';
import type { DeviceRecord } from '@idlegrid/store';
import type { LiveDevice } from '../live/device-registry.ts';

/** A live (online) device as the API shows it. */
export function liveDeviceView(d: LiveDevice): DeviceView {
  return {
    id: d.id,
    status: 'online',
    gpuModel: d.gpuModel,
    slots: d.slots,
    freeSlots: d.slots,
    region: d.region,
    pricePerGpuHour: formatDecimal(d.pricePerGpuHour),
    payout: d.payout,
    tier: d.tier,
    reputation: d.reputation,
    verified: d.verified,
    agentVersion: d.agentVersion,
    hardware: d.hardware,
    coordinate: d.coordinate,
    firstSeenAt: d.firstSeenMs,
    lastSeenAt: d.lastSeenMs,
  };
}

/** A stored device as the API shows it, with live values when it is connected. */
export function storedDeviceView(r: DeviceRecord, live: LiveDevice | undefined): DeviceView {
  if (live) return liveDeviceView(live);
  return {
    id: r.id,
    status: 'offline',
    gpuModel: r.gpuModel,
    slots: r.gpuCount,
    freeSlots: 0,
    region: r.region,
    pricePerGpuHour: formatDecimal(r.pricePerGpuHour),
    payout: r.payout,
    tier: r.tier,
    reputation: r.reputation,
    verified: r.verified,
    agentVersion: r.agentVersion,
    hardware: hardwareReportSchema.parse(r.hardware),
    coordinate: r.coordinate,
    firstSeenAt: r.firstSeenMs,
    lastSeenAt: r.lastSeenMs,
  };
}
