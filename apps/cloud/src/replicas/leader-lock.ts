import { pgLeaderLock } from '@idlegrid/store';

/** The one lock that makes a replica the leader (PostgreSQL advisory lock; in memory in tests). */
export interface LeaderLock {
  readonly held: boolean;
  /** Takes the lock if it is free; true when held. */
  tryAcquire(): Promise<boolean>;
  /** Whether the lock is still held for sure; false also calls the `onLost` the lock was made with. */
  healthy(): Promise<boolean>;
  close(): Promise<void>;
}

/** Builds a lock that calls `onLost` when a held lock is lost. */
export type LeaderLockFactory = (onLost: (reason: string) => void) => LeaderLock;

/** The leader lock of the replicas on one PostgreSQL database. */
export function pgLeaderLockFactory(url: string): LeaderLockFactory {
  return (onLost) => pgLeaderLock({ url, onLost });
}

/** One in-process lock shared by the replicas of a test; `kill(holder)` simulates the holder's session ending. */
export class MemoryLeaderLocks {
  private holder: { onLost: (reason: string) => void } | null = null;

  factory(): LeaderLockFactory {
    return (onLost) => {
      const me = { onLost };
      const mine = () => this.holder === me;
      return {
        get held() {
          return mine();
        },
        tryAcquire: () => {
          this.holder ??= me;
          return Promise.resolve(mine());
        },
        healthy: () => Promise.resolve(mine()),
        close: () => {
          if (mine()) this.holder = null;
          return Promise.resolve();
        },
      };
    };
  }

  /** Takes the lock away from its holder, as PostgreSQL does when the holder's session dies. */
  revoke(reason = 'session ended'): void {
    const h = this.holder;
    this.holder = null;
    h?.onLost(reason);
  }
}
