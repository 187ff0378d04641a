import { describe, expect, it } from 'vitest';
import { liveDevice } from '../testing/live-device.ts';
import { DeviceRegistry } from './device-registry.ts';

describe('DeviceRegistry heartbeat', () => {
  it('moves a device only when its coordinate changes, and always refreshes lastSeen', () => {
    const registry = new DeviceRegistry();
    const moved: number[] = [];
    registry.subscribe({ moved: (d) => moved.push(d.lastSeenMs) });
    const d = liveDevice();
    registry.connect(d);
    registry.heartbeat(d.id, d.sessionId, 1, { x: 1, y: 2, h: 0.5, error: 0.3 });
    registry.heartbeat(d.id, d.sessionId, 2, { x: 1, y: 2, h: 0.5, error: 0.3 });
    registry.heartbeat(d.id, d.sessionId, 3, null);
    registry.heartbeat(d.id, d.sessionId, 4, { x: 1, y: 2.5, h: 0.5, error: 0.3 });
    registry.heartbeat(d.id, d.sessionId, 5, { x: 1, y: 2.5, h: 0.5, error: 0.2 });
    expect(moved).toEqual([1, 4, 5]);
    expect(registry.get(d.id)?.lastSeenMs).toBe(5);
    expect(registry.get(d.id)?.coordinate).toEqual({ x: 1, y: 2.5, h: 0.5, error: 0.2 });
    expect(registry.takeDirty().map((x) => x.id)).toEqual([d.id]);
  });
});
