import type { StoreMigration } from './migration.ts';

/** Placeholder: filled in by the epochs work before it is released. */
export const migration: StoreMigration = {
  async up() {},
};
