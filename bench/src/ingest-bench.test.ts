import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const BENCH = fileURLToPath(new URL('./ingest-bench.ts', import.meta.url));

describe('bench:ingest (smoke)', () => {
  it('runs 20 virtual agents against a cloud-serve process and reports what the cloud accepted', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', BENCH, '--devices', '20', '--heartbeat-seconds', '1', '--seconds', '3', '--connect-rate', '200', '--json'],
      { timeout: 60_000 },
    );
    const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
    expect(result).toMatchObject({ devices: 20, online_min: 20, cloud_devices_online: 20, errors: {} });
    // Every device answered its proof-of-GPU challenge and its heartbeats reached the cloud's counters.
    expect(result['verify_answered']).toBeGreaterThanOrEqual(20);
    expect(result['accepted_msgs_per_s']).toBeGreaterThan(10);
    expect(result['heartbeat_lag_p99_ms']).toEqual(expect.any(Number));
    expect(result['quote_p99_ms']).toEqual(expect.any(Number));
    expect(result['api_failures']).toBe(0);
  }, 90_000);
});
