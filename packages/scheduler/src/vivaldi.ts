import type { RandomSource } from '@idlegrid/domain';
import type { Coordinate } from './types.ts';

/** Tuning of the Vivaldi update (Dabek et al. 2004, with height vectors). */
export interface VivaldiParams {
  /** Fraction of the way to move towards the measured RTT (cc, default 0.25). */
  readonly cc: number;
  /** Weight of a new sample in the error estimate (ce, default 0.25). */
  readonly ce: number;
  /** Heights never go below this, in ms (default 0.1). */
  readonly minHeightMs: number;
  /** Error estimates stay within [minError, maxError] (defaults 0.01 and 1.5). */
  readonly minError: number;
  readonly maxError: number;
  /** Samples above this RTT are ignored as bogus (default 10,000 ms). */
  readonly maxRttMs: number;
  /**
   * Breaks symmetry when two coordinates coincide in the plane (for example two new
   * devices of one region). Without it a direction is derived from the inputs.
   */
  readonly random?: RandomSource | undefined;
}

/** Standard Vivaldi constants. */
export const DEFAULT_VIVALDI_PARAMS: VivaldiParams = {
  cc: 0.25,
  ce: 0.25,
  minHeightMs: 0.1,
  minError: 0.01,
  maxError: 1.5,
  maxRttMs: 10_000,
};

/** Error a brand-new coordinate starts with (1 = no confidence). */
export const INITIAL_VIVALDI_ERROR = 1;

/** Result of one Vivaldi step. */
export interface VivaldiState {
  readonly coordinate: Coordinate;
  readonly error: number;
}

/** Estimated RTT in ms: Euclidean distance in the plane plus both heights. */
export function estimateRtt(a: Coordinate, b: Coordinate): number {
  const dx = a.x - b.x;
  const dy = a.y - b.y;
  return Math.sqrt(dx * dx + dy * dy) + a.h + b.h;
}

function clamp(value: number, lo: number, hi: number): number {
  return value < lo ? lo : value > hi ? hi : value;
}

/** A unit direction for coincident points: random when a source is given, else derived from the inputs. */
function fallbackDirection(own: Coordinate, rtt: number, random: RandomSource | undefined): [number, number] {
  let angle: number;
  if (random) {
    angle = random() * 2 * Math.PI;
  } else {
    const seed = Math.abs(own.x * 12.9898 + own.y * 78.233 + own.h * 37.719 + rtt * 4.1414);
    angle = ((Math.sin(seed) * 43758.5453) % 1) * 2 * Math.PI;
  }
  return [Math.cos(angle), Math.sin(angle)];
}

/**
 * One Vivaldi update of `own` after measuring `measuredRttMs` to a peer: adaptive
 * timestep δ = cc · w with w = ownError / (ownError + peerError); the move is along
 * the height vector, so the height grows or shrinks with the plane distance and is
 * kept ≥ params.minHeightMs. Bogus samples (≤ 0, not finite, too large) change nothing.
 */
export function vivaldiUpdate(
  own: Coordinate,
  ownError: number,
  peer: Coordinate,
  peerError: number,
  measuredRttMs: number,
  params: VivaldiParams = DEFAULT_VIVALDI_PARAMS,
): VivaldiState {
  const rtt = measuredRttMs;
  if (!Number.isFinite(rtt) || rtt <= 0 || rtt > params.maxRttMs) return { coordinate: own, error: ownError };
  const ei = clamp(Number.isFinite(ownError) ? ownError : params.maxError, params.minError, params.maxError);
  const ej = clamp(Number.isFinite(peerError) ? peerError : params.maxError, params.minError, params.maxError);
  const dx = own.x - peer.x;
  const dy = own.y - peer.y;
  const plane = Math.sqrt(dx * dx + dy * dy);
  const estimate = plane + own.h + peer.h;

  const w = ei / (ei + ej);
  const sampleError = Math.abs(estimate - rtt) / rtt;
  const error = clamp(sampleError * params.ce * w + ei * (1 - params.ce * w), params.minError, params.maxError);

  const force = params.cc * w * (rtt - estimate);
  let x = own.x;
  let y = own.y;
  let h = own.h;
  if (plane > 1e-9) {
    // Unit vector of the height vector (dx, dy, hi + hj) / estimate.
    x += (force * dx) / estimate;
    y += (force * dy) / estimate;
    h += (force * (own.h + peer.h)) / estimate;
  } else if (force > 0) {
    // Coincident in the plane and too close: push apart in some direction.
    const [ux, uy] = fallbackDirection(own, rtt, params.random);
    x += force * ux;
    y += force * uy;
  } else {
    // Coincident and too far: only the heights can explain it.
    h += force;
  }
  return { coordinate: { x, y, h: Math.max(h, params.minHeightMs) }, error };
}
