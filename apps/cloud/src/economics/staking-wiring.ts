import type { Logger } from 'pino';
import type { Ledger } from '@idlegrid/chain';
import type { Clock } from '@idlegrid/domain';
import type { Store } from '@idlegrid/store';
import { addGovernanceRoutes } from '../api/routes/governance-routes.ts';
import { addStakingRoutes } from '../api/routes/staking-routes.ts';
import type { ApiRouter } from '../api/router.ts';
import type { CloudConfig } from '../config.ts';
import type { CrashHook } from '../settlement/chain-tasks.ts';
import { GovernanceService } from './governance.ts';
import { ParamBook } from './param-book.ts';
import { StakingService } from './staking.ts';

/**
 * The parameters in force, staking and governance of one control plane. `book.current()` is
 * what settlement, epochs and the estimator should use (call `book.load(store)` after an epoch
 * close applied proposals); `staking.round()` and `governance.round()` finish whatever a crash
 * left (unpaid slashes, due unstakes, unanchored votes) and belong in the settlement loop;
 * `governance.applyDue({ nowMs, epochIndex, store: tx })` belongs in the epoch close.
 */
export interface StakingGovernance {
  readonly book: ParamBook;
  /** null without a ledger (no stake vault to pay from). */
  readonly staking: StakingService | null;
  readonly governance: GovernanceService;
}

export function createStakingGovernance(deps: {
  config: CloudConfig;
  store: Store;
  clock: Clock;
  logger: Logger;
  ledger?: Ledger;
  crash?: CrashHook;
  /** Whether this control plane sends to the chain now (the leader replica; default always). */
  leading?: () => boolean;
}): StakingGovernance {
  const { config, store, clock, logger } = deps;
  const book = ParamBook.fromConfig(config);
  const hooks = { ...(deps.crash ? { crash: deps.crash } : {}), ...(deps.leading ? { leading: deps.leading } : {}) };
  const staking = deps.ledger ? new StakingService({ store, ledger: deps.ledger, clock, book, logger, ...hooks }) : null;
  const governance = new GovernanceService({
    store, clock, book, logger, ledger: deps.ledger ?? null, votingSeconds: config.govVotingSeconds, timelockSeconds: config.govTimelockSeconds, ...hooks,
  });
  return { book, staking, governance };
}

/** `/v1/stake*` (with a ledger) and `/v1/governance/proposals*`. */
export function addStakingGovernanceRoutes(router: ApiRouter, sg: StakingGovernance, deps: { store: Store; clock: Clock; config: CloudConfig; ledger?: Ledger }): void {
  if (deps.ledger && sg.staking) addStakingRoutes(router, { store: deps.store, clock: deps.clock, ledger: deps.ledger, book: sg.book, staking: sg.staking });
  addGovernanceRoutes(router, { governance: sg.governance, votingSeconds: deps.config.govVotingSeconds, timelockSeconds: deps.config.govTimelockSeconds });
}
