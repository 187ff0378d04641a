/**
 * PostgreSQL advisory lock keys used by idlegrid, in one table so that none collide.
 */
export const ADVISORY_LOCKS = {
  /** Held (transaction-scoped) while appending an event, so seq order = commit order. */
  eventsAppend: 0x1d1e_0001,
  /** Held (session-scoped) by the control-plane replica that leads: scheduler, settlement, epochs. */
  leader: 0x1d1e_0002,
} as const;
