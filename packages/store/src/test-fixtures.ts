import {
  base58Encode, microUsd, seededRandom, toDeviceId, type Address, type DeviceId, type GpuModel, type RegionId,
} from '@idlegrid/domain';
import type { DeviceHello } from './repos/devices.ts';

/** Deterministic Solana-looking addresses for tests. */
export function addresses(count: number, seed = 1): Address[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const bytes = Uint8Array.from({ length: 32 }, () => Math.floor(random() * 256));
    return base58Encode(bytes) as Address;
  });
}

export function deviceIds(count: number, seed = 1): DeviceId[] {
  return addresses(count, seed).map(toDeviceId);
}

export function hello(id: DeviceId, overrides: Partial<DeviceHello> = {}): DeviceHello {
  return {
    id,
    hardware: { gpus: [{ name: 'NVIDIA H100 80GB HBM3', memoryMiB: 81_559, uuid: `GPU-${id.slice(0, 8)}` }], cpuCores: 64 },
    gpuModel: 'H100' satisfies GpuModel,
    gpuCount: 8,
    region: 'us-east' as RegionId,
    pricePerGpuHour: microUsd(2_500_000n),
    payout: addresses(1, 99)[0] as Address,
    agentVersion: '0.1.0',
    nowMs: 1_700_000_000_000,
    ...overrides,
  };
}
