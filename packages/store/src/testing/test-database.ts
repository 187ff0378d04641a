import pg from 'pg';
import { startTestPostgres, type TestPostgres } from './postgres.ts';

/** The environment variable naming an existing PostgreSQL to test against instead of starting one. */
export const TEST_DATABASE_URL_ENV = 'IDLEGRID_TEST_DATABASE_URL';

/**
 * A PostgreSQL for tests: the one in IDLEGRID_TEST_DATABASE_URL if set (stop() then does
 * nothing), else a private server from startTestPostgres().
 */
export async function acquireTestPostgres(): Promise<Pick<TestPostgres, 'url' | 'stop'>> {
  const url = process.env[TEST_DATABASE_URL_ENV];
  if (url !== undefined && url !== '') return { url, stop: () => Promise.resolve() };
  return startTestPostgres();
}

let schemaCounter = 0;

/**
 * Creates an empty schema in the database at `baseUrl` and returns a URL whose
 * connections use it (search_path), so each test starts from a clean database without the
 * cost of CREATE DATABASE. drop() removes the schema and everything in it.
 */
export async function createTestSchema(baseUrl: string): Promise<{ url: string; schema: string; drop: () => Promise<void> }> {
  const schema = `t_${process.pid}_${++schemaCounter}_${Math.random().toString(36).slice(2, 8)}`;
  await withClient(baseUrl, (client) => client.query(`create schema "${schema}"`));
  const url = new URL(baseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: url.toString(),
    schema,
    drop: () => withClient(baseUrl, (client) => client.query(`drop schema if exists "${schema}" cascade`)).then(() => undefined),
  };
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
