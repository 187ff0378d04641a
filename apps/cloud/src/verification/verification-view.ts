import type { DeviceId } from '@idlegrid/domain';
import type { VerificationStatus } from '@idlegrid/protocol';
import type { Store } from '@idlegrid/store';

/** How many recent challenges GET /v1/devices/{id} shows. */
export const RECENT_VERIFICATIONS = 10;

/** A device's proof-of-GPU standing for the API; `verified` is the live (or stored) flag. */
export async function verificationStatus(store: Store, deviceId: DeviceId, verified: boolean): Promise<VerificationStatus> {
  const [suspension, tallies, recent] = await Promise.all([
    store.verifications.suspension(deviceId),
    store.verifications.tallies([deviceId]),
    store.verifications.listForDevice(deviceId, RECENT_VERIFICATIONS),
  ]);
  const { passed, failed } = tallies.get(deviceId) ?? { passed: 0, failed: 0 };
  const status = suspension ? 'suspended' : verified ? 'verified' : recent[0]?.verdict === 'pending' ? 'pending' : 'unverified';
  return {
    status,
    suspended: suspension ? { at: suspension.atMs, reason: suspension.reason, verificationId: suspension.verificationId } : null,
    passed,
    failed,
    passRatio: passed + failed === 0 ? null : passed / (passed + failed),
    recent: recent.map((v) => ({
      id: v.id,
      at: v.issuedAtMs,
      gpuModel: v.gpuModel,
      n: v.n,
      elapsedMs: v.elapsedMs,
      roundTripMs: v.roundTripMs,
      limitMs: v.limitMs,
      verdict: v.verdict,
      reason: v.reason,
      detail: v.detail,
    })),
  };
}
