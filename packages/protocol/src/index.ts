export * from './agent-messages.ts';
export * from './api-schemas.ts';
export * from './canonical-json.ts';
export * from './common.ts';
export * from './keys.ts';
export * from './signing.ts';
export * from './cluster-schemas.ts';
export * from './wallet-schemas.ts';
