import { expect, it } from 'vitest';
import type { DeviceId } from '@idlegrid/domain';
import { describeEachStore } from '../testing/store-harness.ts';
import { deviceIds } from '../test-fixtures.ts';
import type { NewVerification, VerificationOutcome } from './verifications.ts';

const T0 = 1_700_000_000_000;

function challenge(id: string, deviceId: DeviceId, issuedAtMs: number): NewVerification {
  return { id, deviceId, gpuModel: 'H100', gpuCount: 8, n: 512, seed: 'ab'.repeat(32), issuedAtMs, deadlineMs: 30_000 };
}

const passed: VerificationOutcome = { verdict: 'passed', answeredAtMs: T0 + 400, elapsedMs: 1.25, roundTripMs: 400, limitMs: 250.5, reason: null, detail: null };
const failed: VerificationOutcome = { verdict: 'failed', answeredAtMs: T0 + 1400, elapsedMs: 980.5, roundTripMs: 1400, limitMs: 250.5, reason: 'too_slow', detail: '980 ms > 250 ms' };

describeEachStore('verifications', ({ open }) => {
  it('records a challenge pending, settles it once, lists newest first', async () => {
    const store = await open();
    const [a] = deviceIds(1) as [DeviceId];
    const created = await store.verifications.create(challenge('vrf_1', a, T0));
    expect(created).toMatchObject({ id: 'vrf_1', verdict: 'pending', answeredAtMs: null, elapsedMs: null, reason: null });
    expect(await store.verifications.listPending(a)).toHaveLength(1);
    expect(await store.verifications.settle('vrf_1', passed)).toBe(true);
    expect(await store.verifications.settle('vrf_1', failed)).toBe(false);
    expect(await store.verifications.get('vrf_1')).toMatchObject({ verdict: 'passed', elapsedMs: 1.25, roundTripMs: 400, limitMs: 250.5 });
    await store.verifications.create(challenge('vrf_2', a, T0 + 1000));
    expect((await store.verifications.listForDevice(a, 10)).map((v) => v.id)).toEqual(['vrf_2', 'vrf_1']);
    expect(await store.verifications.listPending()).toHaveLength(1);
  });

  it('tallies passed and failed per device (pending and cancelled do not count)', async () => {
    const store = await open();
    const [a, b, c] = deviceIds(3) as [DeviceId, DeviceId, DeviceId];
    await store.verifications.create(challenge('v1', a, T0));
    await store.verifications.create(challenge('v2', a, T0 + 1));
    await store.verifications.create(challenge('v3', a, T0 + 2));
    await store.verifications.create(challenge('v4', b, T0));
    await store.verifications.create(challenge('v5', c, T0));
    await store.verifications.settle('v1', passed);
    await store.verifications.settle('v2', failed);
    await store.verifications.settle('v4', { ...failed, verdict: 'cancelled', reason: 'disconnected' });
    const all = await store.verifications.tallies();
    expect(all.get(a)).toEqual({ passed: 1, failed: 1 });
    expect(all.has(b)).toBe(false);
    expect(all.has(c)).toBe(false);
    expect((await store.verifications.tallies([b])).size).toBe(0);
    expect((await store.verifications.tallies([])).size).toBe(0);
  });

  it('keeps the first suspension of a device', async () => {
    const store = await open();
    const [a] = deviceIds(1) as [DeviceId];
    expect(await store.verifications.suspension(a)).toBeNull();
    expect(await store.verifications.suspend({ deviceId: a, verificationId: 'v1', reason: 'too_slow', atMs: T0 })).toBe(true);
    expect(await store.verifications.suspend({ deviceId: a, verificationId: 'v2', reason: 'freivalds', atMs: T0 + 5 })).toBe(false);
    expect(await store.verifications.suspension(a)).toEqual({ deviceId: a, verificationId: 'v1', reason: 'too_slow', atMs: T0 });
    expect((await store.verifications.listSuspended()).map((s) => s.deviceId)).toEqual([a]);
  });
});
