import { seededRandom } from '@idlegrid/domain';
import { liveDevice } from '/work/main/apps/cloud/src/testing/live-device.ts';
import { DeviceRegistry } from '/work/main/apps/cloud/src/live/device-registry.ts';
import { ProbePlanner } from '/work/main/apps/cloud/src/live/probe-planner.ts';
const base = liveDevice();
for (const n of [2000, 20000, 100000]) {
  const reg = new DeviceRegistry();
  for (let i = 0; i < n; i++) reg.connect({ ...base, id: `dev${String(i).padStart(8, '0')}` as never, echoAddress: `10.0.${(i >> 8) & 255}.${i & 255}:1`, coordinate: { x: Math.random() * 100, y: Math.random() * 100, h: 1, error: 0.5 } });
  const planner = new ProbePlanner({ registry: reg, random: seededRandom(1) });
  const times: string[] = [];
  for (let r = 0; r < 3; r++) { const t = performance.now(); planner.plan(); times.push((performance.now() - t).toFixed(0)); }
  const t = performance.now(); planner.plan(Math.ceil(n / 10)); times.push(`slice ${(performance.now() - t).toFixed(0)}`);
  console.log(n, times.join(' / '), 'ms');
}
