import type { DeviceId, RandomSource } from '@idlegrid/domain';
import type { Coordinate } from './types.ts';
import { estimateRtt } from './vivaldi.ts';

/** A device the control plane could ask another device to probe. */
export interface ProbeCandidate {
  readonly deviceId: DeviceId;
  /** Its current coordinate, when known. */
  readonly coordinate?: Coordinate | undefined;
}

/**
 * Picks up to `count` distinct peers (never the device itself) for `deviceId` to
 * probe. When the device's own coordinate is known (it appears among the
 * candidates with one), about a third of the picks are its nearest peers by
 * estimated RTT (sharpens local accuracy), the rest are uniformly random (keeps the
 * global shape right). Deterministic for the same inputs and random sequence.
 */
export function pickProbePeers(
  deviceId: DeviceId,
  candidates: readonly ProbeCandidate[],
  count: number,
  random: RandomSource,
): DeviceId[] {
  const seen = new Set<string>([deviceId]);
  const pool: ProbeCandidate[] = [];
  let own: Coordinate | undefined;
  for (const c of candidates) {
    if (c.deviceId === deviceId) {
      own = c.coordinate ?? own;
      continue;
    }
    if (seen.has(c.deviceId)) continue;
    seen.add(c.deviceId);
    pool.push(c);
  }
  const want = Math.max(0, Math.min(Math.floor(count), pool.length));
  const picked: DeviceId[] = [];
  const taken = new Set<number>();
  if (own && want > 1) {
    const origin = own;
    const nearCount = Math.floor(want / 3);
    const withCoord = pool
      .map((c, index) => ({ index, rtt: c.coordinate ? estimateRtt(origin, c.coordinate) : Infinity }))
      .filter((e) => Number.isFinite(e.rtt))
      .sort((a, b) => a.rtt - b.rtt || a.index - b.index);
    for (const e of withCoord.slice(0, nearCount)) {
      taken.add(e.index);
      picked.push(pool[e.index]?.deviceId ?? deviceId);
    }
  }
  // Partial Fisher–Yates over the rest.
  const rest = pool.map((_, i) => i).filter((i) => !taken.has(i));
  for (let i = 0; picked.length < want && i < rest.length; i++) {
    const j = i + Math.floor(random() * (rest.length - i));
    const a = rest[i] ?? 0;
    const b = rest[j] ?? 0;
    rest[i] = b;
    rest[j] = a;
    picked.push(pool[b]?.deviceId ?? deviceId);
  }
  return picked;
}
