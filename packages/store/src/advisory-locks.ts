/**
 * PostgreSQL advisory lock keys used by idlegrid, in one table so that none collide.
 * (Leader election for the scheduler and settlement will add theirs here.)
 */
export const ADVISORY_LOCKS = {
  /** Held (transaction-scoped) while appending an event, so seq order = commit order. */
  eventsAppend: 0x1d1e_0001,
} as const;
