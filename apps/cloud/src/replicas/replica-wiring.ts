import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Ledger } from '@idlegrid/chain';
import type { Clock, DeviceId } from '@idlegrid/domain';
import type { Store } from '@idlegrid/store';
import type { CloudApp } from '../app.ts';
import type { DeviceRegistry } from '../live/device-registry.ts';
import type { ProbePlanner } from '../live/probe-planner.ts';
import { pgLeaderLockFactory, type LeaderLockFactory } from './leader-lock.ts';
import { openPgReplicaBus, type ReplicaBus } from './replica-bus.ts';
import { ReplicaSet, type LeaderBoundMessage } from './replica-set.ts';

/** What becomes the leader's once this replica leads: the lease loop, settlement and epochs. */
export async function startLeaderDuties(cloud: CloudApp): Promise<void> {
  await cloud.leases.start();
  cloud.settler?.start();
  cloud.epochs?.start();
}

/** The parts a replica hands its leader-bound work to; bound once the control plane is built. */
export interface ReplicaTargets {
  cloud: CloudApp;
  probes: ProbePlanner;
}

/**
 * Which chain a replica settles on, as replicas compare it: an RPC chain by its URL, authority
 * and IO mint; an embedded chain is private to its process, so no two replicas ever match on one.
 */
export function chainIdentity(ledger: Ledger, rpcUrl: string | null): string {
  const info = ledger.info();
  return rpcUrl === null ? `embedded:${info.authority}:${randomBytes(4).toString('hex')}` : `rpc:${rpcUrl}:${info.authority}:${info.mints.IO}`;
}

/** Applies an agent message meant for the leader (lease status → leases; probe result → the planner). */
export function applyLeaderMessage(targets: ReplicaTargets, deviceId: DeviceId, message: LeaderBoundMessage): void {
  if (message.type === 'lease-status') targets.cloud.leases.onLeaseStatus(deviceId, message);
  else targets.probes.noteResult(deviceId, message.rtts);
}

export interface ReplicaSetDeps {
  databaseUrl: string;
  store: Store;
  ledger: Ledger;
  /** The RPC URL of the chain, or null for the embedded one. */
  rpcUrl: string | null;
  registry: DeviceRegistry;
  clock: Clock;
  logger: Logger;
  lossSeconds: number;
  /** The replica lost the lead; the default in server.ts ends the process. */
  onDeposed: (reason: string) => void;
  /** Tests: an in-memory bus and lock instead of PostgreSQL's. */
  bus?: ReplicaBus;
  lock?: LeaderLockFactory;
}

/**
 * Builds this process's replica on the shared PostgreSQL: bus, leader lock and the callbacks
 * that reach the control plane once `bind` gave it (the election starts only after that).
 */
export async function openReplicaSet(deps: ReplicaSetDeps): Promise<{ set: ReplicaSet; bind: (targets: ReplicaTargets) => void }> {
  let targets: ReplicaTargets | null = null;
  let refresh: NodeJS.Timeout | undefined;
  const bus = deps.bus ?? (await openPgReplicaBus(deps.databaseUrl, deps.logger));
  const refreshLeases = () => {
    if (refresh) return;
    // Bursts of lease changes are read once.
    refresh = setTimeout(() => {
      refresh = undefined;
      targets?.cloud.leases.refreshIndex().catch((err: unknown) => deps.logger.warn({ err }, 'could not re-read lease reservations'));
    }, 100);
    refresh.unref();
  };
  const set = new ReplicaSet({
    bus,
    lock: deps.lock ?? pgLeaderLockFactory(deps.databaseUrl),
    registry: deps.registry,
    store: deps.store,
    clock: deps.clock,
    logger: deps.logger,
    chain: chainIdentity(deps.ledger, deps.rpcUrl),
    lossSeconds: deps.lossSeconds,
    onElected: async () => {
      if (targets) await startLeaderDuties(targets.cloud);
    },
    onDeposed: deps.onDeposed,
    onAgentMessage: (deviceId, message) => {
      if (targets) applyLeaderMessage(targets, deviceId, message);
    },
    onSettleNudge: () => targets?.cloud.settler?.nudge(),
    onLeasesChanged: refreshLeases,
    onOrphansDropped: (devices) => {
      if (!set.isLeader) return;
      void (async () => {
        for (const d of devices) await deps.store.devices.markOffline(d.id, d.lastSeenMs);
      })().catch((err: unknown) => deps.logger.warn({ err }, 'could not mark the devices of a gone replica offline'));
    },
  });
  return {
    set,
    bind: (t) => {
      targets = t;
    },
  };
}
