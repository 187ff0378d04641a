export * from './agent-messages.ts';
export * from './api-schemas.ts';
export * from './verification-schemas.ts';
export * from './canonical-json.ts';
export * from './common.ts';
export * from './keys.ts';
export * from './signing.ts';
export * from './cluster-schemas.ts';
export * from './wallet-schemas.ts';
export * from './merkle.ts';
export * from './settlement-schemas.ts';
export * from './economics-schemas.ts';
export * from './explorer-schemas.ts';
export * from './staking-schemas.ts';
export * from './epoch-schemas.ts';
export * from './dashboard-schemas.ts';
/** Node runtime helper shared by the agent and the control plane: a TypeScript module in a worker thread. */
export { runTsWorker, WorkerAbandoned, type WorkerRun } from './ts-worker.ts';
