import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PORT_BLOCK_SIZE } from '@idlegrid/ray';
import { choosePortBlock, claimPortBlockFile, portsFreeOnHost } from './port-blocks.ts';

describe('choosePortBlock', () => {
  it('takes the first block this agent does not use, nobody claimed and whose ports are free', async () => {
    const released: number[] = [];
    const block = await choosePortBlock({
      base: 20_000,
      inUse: new Set([20_000]),
      claim: (base) => Promise.resolve(base === 20_200 ? null : () => Promise.resolve(void released.push(base))),
      isFree: (ports) => Promise.resolve(ports.base !== 20_400),
    });
    expect(block.ports.base).toBe(20_600);
    expect(block.ports.gcs).toBe(20_600);
    expect(block.ports.serveHttp).toBe(20_609);
    expect(released).toEqual([20_400]); // the busy block's claim was given back
    await block.release();
    await block.release();
    expect(released).toEqual([20_400, 20_600]);
  });

  it('fails with a hint when no block is free', async () => {
    await expect(choosePortBlock({ base: 20_000, maxBlocks: 3, inUse: new Set(), isFree: () => Promise.resolve(false) })).rejects.toThrow(
      /no free Ray port block among 3 blocks .*IDLEGRID_RAY_PORT_BASE/,
    );
    await expect(choosePortBlock({ base: 65_400, inUse: new Set(), isFree: () => Promise.resolve(true) })).rejects.toThrow(/no free Ray port block/);
  });

  it('skips a block with a port taken on the host', async () => {
    const server = net.createServer();
    // Below the ephemeral range (32768+), where outgoing connections of other tests could take a port.
    const base = 12_000 + (process.pid % 20) * 2 * PORT_BLOCK_SIZE;
    await new Promise<void>((resolve) => server.listen(base + 1, '0.0.0.0', resolve));
    try {
      const block = await choosePortBlock({ base, inUse: new Set() });
      expect(block.ports.base).toBeGreaterThan(base);
      expect(await portsFreeOnHost(block.ports)).toBe(true);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('claimPortBlockFile', () => {
  let dir = '';
  beforeEach(async () => {
    dir = path.join(await mkdtemp(path.join(os.tmpdir(), 'igr-claims-')), 'claims');
  });
  afterEach(async () => {
    await rm(path.dirname(dir), { recursive: true, force: true });
  });

  it('claims a base once among live processes and gives it back', async () => {
    const claim = claimPortBlockFile(dir);
    const release = await claim(20_000);
    expect(release).not.toBeNull();
    expect(JSON.parse(await readFile(path.join(dir, '20000'), 'utf8'))).toMatchObject({ pid: process.pid });
    expect(await claim(20_000)).toBeNull(); // another agent (here: this process again) holds it
    await release?.();
    expect(existsSync(path.join(dir, '20000'))).toBe(false);
    expect(await claim(20_000)).not.toBeNull();
  });

  it('takes over the claim of a process that is gone', async () => {
    const child = spawn('true');
    const pid = child.pid;
    await new Promise((resolve) => child.once('exit', resolve));
    const claim = claimPortBlockFile(dir);
    await (await claim(1))?.(); // creates the dir
    await writeFile(path.join(dir, '20200'), JSON.stringify({ pid, startTicks: 1 }));
    const release = await claim(20_200);
    expect(release).not.toBeNull();
    expect(JSON.parse(await readFile(path.join(dir, '20200'), 'utf8'))).toMatchObject({ pid: process.pid });
  });
});
