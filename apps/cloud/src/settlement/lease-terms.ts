import { formatDecimal, IdlegridError, type Address } from '@idlegrid/domain';
import { canonicalJson } from '@idlegrid/protocol';
import type { LeaseNodeRecord, LeaseRecord } from '@idlegrid/store';
import { sha256Hex } from './chain-tasks.ts';

/** sha256 of what the buyer booked: anchored on chain as `idlegrid:lease:<id>:<hash>` when the lease is created. */
export function leaseTermsHash(lease: LeaseRecord, nodes: readonly LeaseNodeRecord[], reservedIo: bigint): string {
  return sha256Hex(
    canonicalJson({
      lease: lease.id,
      buyer: lease.buyer,
      gpuModel: lease.gpuModel,
      slots: lease.slots,
      topology: lease.topology,
      pricePerHour: lease.pricePerHour.toString(),
      createdAtMs: lease.createdAtMs,
      expiresAtMs: lease.expiresAtMs,
      reservedIo: reservedIo.toString(),
      nodes: nodes.map((n) => ({ device: n.deviceId, slots: n.slots, pricePerGpuHour: n.pricePerGpuHour.toString() })),
    }),
  );
}

export function insufficientEscrow(wallet: Address, needed: bigint, available: bigint): IdlegridError {
  return new IdlegridError('INSUFFICIENT_ESCROW', {
    wallet,
    needed: formatDecimal(needed),
    available: formatDecimal(available),
    missing: formatDecimal(needed > available ? needed - available : 0n),
  });
}
