import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { DeviceId, RegionId } from '@idlegrid/domain';
import { DEFAULT_VIVALDI_PARAMS, INITIAL_VIVALDI_ERROR, initialCoordinate, vivaldiUpdate, type Coordinate } from '@idlegrid/scheduler';

/** A Vivaldi coordinate with its error estimate, as heartbeats and probes carry it. */
export interface CoordinateWithError {
  readonly x: number;
  readonly y: number;
  readonly h: number;
  readonly error: number;
}

/** Peer coordinates beyond this (ms, any component) are ignored as bogus. */
const MAX_COMPONENT_MS = DEFAULT_VIVALDI_PARAMS.maxRttMs;

/**
 * This device's Vivaldi coordinate: starts at the region's point (initialCoordinate)
 * with error INITIAL_VIVALDI_ERROR, and moves with every RTT measured to a peer whose
 * coordinate is known.
 */
export class NetworkPosition {
  private coordinate: Coordinate;
  private error: number;

  constructor(start: CoordinateWithError) {
    this.coordinate = { x: start.x, y: start.y, h: start.h };
    this.error = start.error;
  }

  /** The starting position of a device that has never measured anything. */
  static initial(region: RegionId, deviceId?: DeviceId): NetworkPosition {
    return new NetworkPosition({ ...initialCoordinate(region, deviceId), error: INITIAL_VIVALDI_ERROR });
  }

  get current(): CoordinateWithError {
    return { ...this.coordinate, error: this.error };
  }

  /**
   * One Vivaldi step after measuring `rttMs` to `peer`. Returns false (and changes
   * nothing) for a peer coordinate that is out of any plausible range.
   */
  observe(peer: CoordinateWithError, rttMs: number): boolean {
    const plausible = [peer.x, peer.y, peer.h, peer.error].every((v) => Number.isFinite(v) && Math.abs(v) <= MAX_COMPONENT_MS);
    if (!plausible || peer.h < 0 || peer.error < 0) return false;
    const next = vivaldiUpdate(this.coordinate, this.error, peer, peer.error, rttMs);
    this.coordinate = next.coordinate;
    this.error = next.error;
    return true;
  }
}

const savedSchema = z.object({
  version: z.literal(1),
  region: z.string(),
  coordinate: z.object({
    x: z.number().finite(),
    y: z.number().finite(),
    h: z.number().finite().nonnegative(),
    error: z.number().finite().nonnegative(),
  }),
});

/**
 * The position saved at `path` by savePosition, if it exists, is valid and was computed
 * for the same region; otherwise the region's initial position.
 */
export async function loadPosition(path: string, region: RegionId, deviceId?: DeviceId): Promise<NetworkPosition> {
  try {
    const saved = savedSchema.safeParse(JSON.parse(await readFile(path, 'utf8')));
    if (saved.success && saved.data.region === region) return new NetworkPosition(saved.data.coordinate);
  } catch {
    // missing or unreadable: start over
  }
  return NetworkPosition.initial(region, deviceId);
}

/** Writes the position atomically (temporary file + rename). */
export async function savePosition(path: string, region: RegionId, position: NetworkPosition): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temporary, `${JSON.stringify({ version: 1, region, coordinate: position.current })}\n`, { mode: 0o600 });
  await rename(temporary, path);
}
