import type { LeaderDirectory } from './leader-forward.ts';
import type { PeerView } from './replica-set.ts';

/** What the API and the services need to know about the replica set this process is part of. */
export interface Replication extends LeaderDirectory {
  /** Asks the leader for a settlement round soon (a deposit, a withdrawal, a booking). */
  nudgeSettlement(): void;
  /** The leader changed leases: followers re-read reservations. */
  leasesChanged(): void;
  /** The replicas this one knows, itself included. */
  view(): PeerView[];
}

/** One control plane alone (SQLite, or PostgreSQL without other replicas yet): always its own leader. */
export function singleProcess(devices: () => number, now: () => number): Replication {
  return {
    id: 'r-single',
    isLeader: true,
    leaderUrl: () => null,
    nudgeSettlement: () => undefined,
    leasesChanged: () => undefined,
    view: () => [{ id: 'r-single', url: '', leader: true, devices: devices(), lastAliveMs: now() }],
  };
}
