import { microUsd, toAddress, type RegionId } from '@idlegrid/domain';
import { generateKeypair } from '@idlegrid/protocol';
import type { LiveDevice } from '../live/device-registry.ts';
import { CPU_HARDWARE } from './test-agent.ts';

let session = 1_000_000;

/** A registry entry for in-process API tests (no socket behind it). */
export function liveDevice(o: { region?: string; price?: bigint; slots?: number; verified?: boolean; outbox?: Array<Record<string, unknown>> } = {}): LiveDevice {
  const id = toAddress(generateKeypair().address);
  return {
    id,
    sessionId: session++,
    gpuModel: 'cpu',
    slots: o.slots ?? 1,
    region: (o.region ?? 'local') as RegionId,
    pricePerGpuHour: microUsd(o.price ?? 250_000n),
    payout: id,
    hardware: CPU_HARDWARE,
    agentVersion: 'test',
    connectedAtMs: 0,
    firstSeenMs: 0,
    lastSeenMs: 0,
    tier: 'bronze',
    reputation: 0,
    // Verified by default: only devices that passed proof of GPU are supply.
    verified: o.verified ?? true,
    coordinate: null,
    echoAddress: null,
    send: (message) => {
      o.outbox?.push(message);
      return true;
    },
    disconnect: () => undefined,
  };
}
