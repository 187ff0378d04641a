import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateKeypair } from '@idlegrid/protocol';
import { parseRegion, toDeviceId } from '@idlegrid/domain';
import { estimateRtt, INITIAL_VIVALDI_ERROR, initialCoordinate } from '@idlegrid/scheduler';
import { loadPosition, NetworkPosition, savePosition } from './network-position.ts';

const EU_WEST = parseRegion('eu-west');
const US_EAST = parseRegion('us-east');
const LOCAL = parseRegion('local');

describe('NetworkPosition', () => {
  it('starts at the region with the initial error and moves towards measured RTTs', () => {
    const id = toDeviceId(generateKeypair().address);
    const position = NetworkPosition.initial(EU_WEST, id);
    expect(position.current).toEqual({ ...initialCoordinate(EU_WEST, id), error: INITIAL_VIVALDI_ERROR });

    const peer = { ...initialCoordinate(US_EAST), error: 0.2 };
    const before = estimateRtt(position.current, peer);
    for (let i = 0; i < 50; i++) expect(position.observe(peer, 40)).toBe(true);
    const after = estimateRtt(position.current, peer);
    expect(Math.abs(after - 40)).toBeLessThan(Math.abs(before - 40));
    expect(Math.abs(after - 40)).toBeLessThan(2);
    expect(position.current.error).toBeLessThan(INITIAL_VIVALDI_ERROR);
  });

  it('ignores implausible peers and bogus samples', () => {
    const position = NetworkPosition.initial(LOCAL);
    const start = position.current;
    expect(position.observe({ x: 1e9, y: 0, h: 1, error: 0.1 }, 5)).toBe(false);
    expect(position.observe({ x: 1, y: 0, h: -1, error: 0.1 }, 5)).toBe(false);
    expect(position.observe({ x: 1, y: 0, h: 1, error: Number.NaN }, 5)).toBe(false);
    position.observe({ x: 1, y: 0, h: 1, error: 0.1 }, 0);
    expect(position.current).toEqual(start);
  });

  it('is saved and loaded again for the same region only', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'idlegrid-position-'));
    const path = join(dir, 'sub', 'coordinate.json');
    expect((await loadPosition(path, LOCAL)).current).toEqual(NetworkPosition.initial(LOCAL).current);
    const position = new NetworkPosition({ x: 3, y: -4, h: 1.5, error: 0.3 });
    await savePosition(path, EU_WEST, position);
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ version: 1, region: 'eu-west' });
    expect((await loadPosition(path, EU_WEST)).current).toEqual({ x: 3, y: -4, h: 1.5, error: 0.3 });
    expect((await loadPosition(path, US_EAST)).current).toEqual(NetworkPosition.initial(US_EAST).current);
    await writeFile(path, '{"version":1,"region":"eu-west","coordinate":{"x":"no"}}');
    expect((await loadPosition(path, EU_WEST)).current).toEqual(NetworkPosition.initial(EU_WEST).current);
  });
});
