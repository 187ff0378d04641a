export { startTestPostgres, type TestPostgres } from './postgres.ts';
export { acquireTestPostgres, createTestSchema, TEST_DATABASE_URL_ENV } from './test-database.ts';
export { describeEachStore, type StoreHarness } from './store-harness.ts';
