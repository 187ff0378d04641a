import type { StoreMigration } from './migration.ts';

/** Placeholder: filled in by the staking work before it is released. */
export const migration: StoreMigration = {
  async up() {},
};
