/**
 * Exact pro-rata division of a bigint amount: each share is ⌊amount × weight ÷ Σ weights⌋,
 * and what integer division leaves over is returned as `remainder` (never handed to anyone
 * silently). Σ shares + remainder = amount exactly. With no positive weight at all, every
 * share is 0 and the whole amount is the remainder.
 */
export interface Prorated {
  readonly shares: readonly bigint[];
  readonly remainder: bigint;
}

export function prorate(amount: bigint, weights: readonly bigint[]): Prorated {
  if (amount < 0n) throw new RangeError(`amount must be non-negative, got ${amount}`);
  let total = 0n;
  for (const w of weights) {
    if (w < 0n) throw new RangeError(`weights must be non-negative, got ${w}`);
    total += w;
  }
  if (total === 0n) return { shares: weights.map(() => 0n), remainder: amount };
  let paid = 0n;
  const shares = weights.map((w) => {
    const share = (amount * w) / total;
    paid += share;
    return share;
  });
  return { shares, remainder: amount - paid };
}
