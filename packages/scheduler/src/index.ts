/**
 * @idlegrid/scheduler — pure placement of GPU slots and network coordinates. No I/O:
 * randomness comes in as a RandomSource, nothing reads the clock.
 */

/** Scheduler data types: coordinates, pool devices, requests, placements, why-not answers. */
export type {
  Alternative, AlternativeChange, AllocationResult, Coordinate, Infeasible, PlacedDevice, Placement,
  PlacementRequest, PoolDevice, StageCount, StageName, Topology,
} from './types.ts';

/** Vivaldi coordinates: estimated RTT, one update step, its parameters and the starting error. */
export {
  DEFAULT_VIVALDI_PARAMS, estimateRtt, INITIAL_VIVALDI_ERROR, vivaldiUpdate, type VivaldiParams, type VivaldiState,
} from './vivaldi.ts';

/** Where a new device starts (from its region), and world cities in the same frame. */
export { cityCoordinate, INITIAL_ACCESS_MS, initialCoordinate } from './initial-coordinate.ts';

/** Deterministic embedding of places into Vivaldi space (classical MDS + relaxation). */
export { embedGeoPoints } from './embedding.ts';

/** Great-circle distance and the RTT light needs for it in fibre. */
export { FIBRE_KM_PER_RTT_MS, geoRttMs, greatCircleKm, type LatLon } from './geo.ts';

/** 60 real cities with their region, for synthetic worlds and benchmarks. */
export { WORLD_CITIES, type WorldCity } from './cities.ts';

/** Which peers a device should probe next. */
export { pickProbePeers, type ProbeCandidate } from './probe-peers.ts';

/** Placement over a plain list of devices, and the shared core SlotPool uses. */
export { allocate, allocateSorted, DEFAULT_ALLOCATION_SEED, type AllocateOptions } from './allocate.ts';

/** The incremental pool index. */
export { SlotPool } from './slot-pool.ts';

/** Filters, their canonical device order and validation. */
export { applyFilters, compareDevices, firstFailedStage, passesFilters, validateDevice, validateRequest, type FilterOutcome } from './filters.ts';

/** Building blocks of placements: prices for a duration, RTT statistics, cheapest-first picks. */
export { buildPlacement, cheapestFirst, diameterOf, priceForHours, rttStats, type Pick } from './placement.ts';

/** The tight heuristic and its effort knobs. */
export { DEFAULT_TIGHT_EFFORT, placeTight, type TightEffort } from './tight.ts';

/** Exact smallest diameter by branch and bound, to check the heuristic on small instances. */
export { bruteForceTightDiameter } from './brute-force.ts';

/** Synthetic worlds: realistic pools and hosts with "true" RTTs, for tests and benchmarks. */
export {
  DEFAULT_MODEL_MIX, hostRttMs, smallTightInstance, syntheticAccessMs, syntheticDeviceId, syntheticHosts, syntheticPool,
  type ModelMix, type SyntheticHost, type SyntheticPoolOptions,
} from './synthetic-world.ts';
