/** A source of uniform numbers in [0, 1). Pure code takes one instead of calling Math.random. */
export type RandomSource = () => number;

/** A small, fast, seeded generator (mulberry32) for deterministic tests and benchmarks. */
export function seededRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
