/** A point on the Earth in degrees. */
export interface LatLon {
  readonly latitude: number;
  readonly longitude: number;
}

const EARTH_RADIUS_KM = 6371;

/** Speed of light in fibre, as round-trip km per ms (≈ 200 km/ms one way). */
export const FIBRE_KM_PER_RTT_MS = 100;

/** Great-circle distance in km (haversine). */
export function greatCircleKm(a: LatLon, b: LatLon): number {
  const toRad = Math.PI / 180;
  const dLat = (b.latitude - a.latitude) * toRad;
  const dLon = (b.longitude - a.longitude) * toRad;
  const s =
    Math.sin(dLat / 2) ** 2 + Math.cos(a.latitude * toRad) * Math.cos(b.latitude * toRad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(s)));
}

/** Propagation part of the RTT between two places: great-circle km ÷ 100 km/ms. */
export function geoRttMs(a: LatLon, b: LatLon): number {
  return greatCircleKm(a, b) / FIBRE_KM_PER_RTT_MS;
}
