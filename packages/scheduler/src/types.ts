import type { DeviceId, GpuModel, MicroUsd, RegionId, Tier } from '@idlegrid/domain';

/**
 * A Vivaldi network coordinate: a point in a 2-D plane plus a height, all in
 * milliseconds. Estimated RTT(a, b) = |(a.x, a.y) − (b.x, b.y)| + a.h + b.h.
 */
export interface Coordinate {
  readonly x: number;
  readonly y: number;
  readonly h: number;
}

/** How a cluster is laid out: `tight` minimizes its RTT diameter, `spread` its price. */
export type Topology = 'tight' | 'spread';

/** One device of the live pool as the scheduler sees it. */
export interface PoolDevice {
  readonly deviceId: DeviceId;
  readonly model: GpuModel;
  /** GPU slots of this device not held by any lease (a device may give several). */
  readonly freeSlots: number;
  readonly pricePerGpuHour: MicroUsd;
  readonly tier: Tier;
  readonly region: RegionId;
  readonly verified: boolean;
  /** 0–1000. */
  readonly reputation: number;
  readonly coordinate: Coordinate;
}

/** What a buyer asks for. */
export interface PlacementRequest {
  readonly model: GpuModel;
  /** GPU slots wanted (a positive integer). */
  readonly count: number;
  /** Allowed regions; absent or empty means any region. */
  readonly regions?: readonly RegionId[] | undefined;
  readonly minTier?: Tier | undefined;
  /** Highest acceptable price per GPU-hour; absent means no cap. */
  readonly maxPricePerGpuHour?: MicroUsd | undefined;
  readonly topology: Topology;
  /** Only verified devices (default true). */
  readonly verifiedOnly?: boolean | undefined;
  /** Duration in hours (positive; fractions are rounded to whole seconds for the total). */
  readonly hours: number;
}

/** One device of a placement and how many of its slots the cluster takes. */
export interface PlacedDevice {
  readonly deviceId: DeviceId;
  readonly slots: number;
  readonly pricePerGpuHour: MicroUsd;
  readonly region: RegionId;
  readonly tier: Tier;
  readonly coordinate: Coordinate;
}

/** A successful placement. */
export interface Placement {
  readonly feasible: true;
  readonly request: PlacementRequest;
  /** Chosen devices, cheapest first; every device appears once. */
  readonly devices: readonly PlacedDevice[];
  /** Total slots placed (= request.count). */
  readonly slots: number;
  /** Σ slots × price per GPU-hour. */
  readonly pricePerHour: MicroUsd;
  /** pricePerHour × hours (hours rounded to whole seconds, result rounded half up). */
  readonly totalPrice: MicroUsd;
  /** Largest estimated RTT between two chosen devices (0 for one device). */
  readonly maxRttMs: number;
  /** Mean estimated RTT over pairs of distinct chosen devices (0 for one device). */
  readonly meanRttMs: number;
  /** Distinct regions of the chosen devices, sorted. */
  readonly regions: readonly RegionId[];
}

/** The filter stages in the order they are applied, then the final slot count check. */
export type StageName = 'model' | 'region' | 'tier' | 'price' | 'verified' | 'count';

/** Free slots (and devices) left after a filter stage and all stages before it. */
export interface StageCount {
  readonly stage: StageName;
  /** Free slots remaining after this stage. For `count`: slots available to place. */
  readonly remaining: number;
  /** Devices (with at least one free slot) remaining after this stage. */
  readonly devices: number;
}

/** Which part of the request an alternative relaxes. */
export type AlternativeChange = 'region' | 'tier' | 'price' | 'verified' | 'count' | 'combined';

/** A concrete, feasible modification of an infeasible request. */
export interface Alternative {
  readonly change: AlternativeChange;
  /** One line for humans, e.g. "raise max price to 2.45 USD/GPU-hour". */
  readonly summary: string;
  readonly request: PlacementRequest;
  readonly pricePerHour: MicroUsd;
  readonly totalPrice: MicroUsd;
  readonly maxRttMs: number;
}

/** Why a request cannot be placed, and what could be placed instead. */
export interface Infeasible {
  readonly feasible: false;
  readonly request: PlacementRequest;
  readonly stages: readonly StageCount[];
  /** Slots that pass every filter (fewer than request.count). */
  readonly available: number;
  readonly reason: string;
  /** Up to 3 nearest feasible alternatives, nearest first. */
  readonly alternatives: readonly Alternative[];
}

/** The answer to a placement request. */
export type AllocationResult = Placement | Infeasible;
