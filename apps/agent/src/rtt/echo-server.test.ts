import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isIdlegridError } from '@idlegrid/domain';
import { waitFor } from '../testing/test-gateway.ts';
import { ECHO_FRAME_BYTES, ECHO_MAGIC, startEchoServer, type EchoServer, type EchoServerOptions } from './echo-server.ts';
import { measureRtt, parseEchoAddress } from './measure-rtt.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function echo(options: EchoServerOptions = {}): Promise<EchoServer> {
  const server = await startEchoServer({ host: '127.0.0.1', ...options });
  cleanups.push(() => server.close());
  return server;
}

/** A raw client that records what it receives and when the server closed it. */
async function client(port: number): Promise<{ socket: Socket; received: () => Buffer; closed: () => boolean }> {
  const socket = connect({ host: '127.0.0.1', port, noDelay: true });
  const chunks: Buffer[] = [];
  let closed = false;
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => undefined);
  socket.on('close', () => {
    closed = true;
  });
  cleanups.push(() => void socket.destroy());
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  return { socket, received: () => Buffer.concat(chunks), closed: () => closed };
}

const frame = (byte: number): Buffer => Buffer.concat([ECHO_MAGIC, Buffer.alloc(ECHO_FRAME_BYTES - ECHO_MAGIC.length, byte)]);

async function rawServer(onSocket: (socket: Socket) => void): Promise<{ server: Server; port: number }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => {
    for (const socket of sockets) socket.destroy();
    server.close(() => resolve());
  }));
  return { server, port: (server.address() as AddressInfo).port };
}

describe('RTT echo', () => {
  it('measures a small positive RTT over loopback, with the minimum of a few probes', async () => {
    const server = await echo();
    expect(server.port).toBeGreaterThan(0);
    const rtt = await measureRtt(`127.0.0.1:${server.port}`);
    expect(rtt).not.toBeNull();
    expect(rtt).toBeGreaterThan(0);
    expect(rtt).toBeLessThan(100);
    expect(await measureRtt(`127.0.0.1:${server.port}`, { probes: 8 })).toBeGreaterThan(0);
    await waitFor(() => server.connections === 0, 'the prober to hang up');
  });

  it('answers null for unusable addresses, closed ports, silent hosts and servers that are not an echo', async () => {
    expect(await measureRtt('example.org:80')).toBeNull();
    expect(await measureRtt('127.0.0.1:0')).toBeNull();
    const closed = await rawServer(() => undefined);
    await new Promise<void>((resolve) => closed.server.close(() => resolve()));
    expect(await measureRtt(`127.0.0.1:${closed.port}`)).toBeNull();

    const silent = await rawServer(() => undefined);
    const started = Date.now();
    expect(await measureRtt(`127.0.0.1:${silent.port}`, { timeoutMs: 150 })).toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);

    const liar = await rawServer((socket) => socket.on('data', () => socket.write(Buffer.alloc(ECHO_FRAME_BYTES, 7))));
    expect(await measureRtt(`127.0.0.1:${liar.port}`)).toBeNull();
  });

  it('parses ip:port and [ipv6]:port only', () => {
    expect(parseEchoAddress('10.0.0.2:7946')).toEqual({ host: '10.0.0.2', port: 7946 });
    expect(parseEchoAddress('[::1]:80')).toEqual({ host: '::1', port: 80 });
    expect(parseEchoAddress('[::ffff:10.1.2.3]:9')).toEqual({ host: '::ffff:10.1.2.3', port: 9 });
    for (const bad of ['10.0.0.2', 'host:80', '::1:80', '10.0.0.256:80', '10.0.0.2:70000', '10.0.0.2:0', '[zz]:1', ' 10.0.0.2:80']) {
      expect(parseEchoAddress(bad), bad).toBeNull();
    }
  });

  it('echoes each frame as it comes, even split in pieces', async () => {
    const server = await echo();
    const c = await client(server.port);
    const f = frame(1);
    c.socket.write(f.subarray(0, 5));
    await new Promise((resolve) => setTimeout(resolve, 20));
    c.socket.write(f.subarray(5));
    await waitFor(() => c.received().length === ECHO_FRAME_BYTES, 'the echo');
    expect(c.received()).toEqual(f);
    c.socket.write(frame(2));
    await waitFor(() => c.received().length === 2 * ECHO_FRAME_BYTES, 'the second echo');
    expect(c.closed()).toBe(false);
  });

  it('cuts oversize frames, pipelined floods, foreign protocols and too many frames', async () => {
    const server = await echo({ maxFramesPerConnection: 3 });
    const oversize = await client(server.port);
    oversize.socket.write(Buffer.alloc(4096, 0x41));
    await waitFor(() => oversize.closed(), 'the oversize sender to be cut');
    expect(oversize.received().length).toBe(0);

    const pipelined = await client(server.port);
    pipelined.socket.write(Buffer.concat([frame(1), frame(2)]));
    await waitFor(() => pipelined.closed(), 'the pipelining sender to be cut');

    const foreign = await client(server.port);
    foreign.socket.write('GET / HTTP/1.1\r\n');
    await waitFor(() => foreign.closed(), 'the HTTP client to be cut');
    expect(foreign.received().length).toBe(0);

    const chatty = await client(server.port);
    for (let i = 0; i < 3; i++) {
      chatty.socket.write(frame(i));
      await waitFor(() => chatty.received().length === (i + 1) * ECHO_FRAME_BYTES, `echo ${i}`);
    }
    chatty.socket.write(frame(9));
    await waitFor(() => chatty.closed(), 'the fourth frame to close the connection');
    expect(chatty.received().length).toBe(3 * ECHO_FRAME_BYTES);
    await waitFor(() => server.connections === 0, 'no connection left');
  });

  it('closes idle sockets and long-lived ones', async () => {
    const server = await echo({ idleTimeoutMs: 100, maxConnectionMs: 400 });
    const idle = await client(server.port);
    const started = Date.now();
    await waitFor(() => idle.closed(), 'the idle socket to be closed', 2_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(80);

    const busy = await client(server.port);
    const keepBusy = setInterval(() => busy.socket.write(frame(3)), 40);
    cleanups.push(() => clearInterval(keepBusy));
    await waitFor(() => busy.closed(), 'the long-lived socket to be closed', 2_000);
  });

  it('caps connections in all and per address', async () => {
    const server = await echo({ maxConnections: 3 });
    const held = [await client(server.port), await client(server.port), await client(server.port)];
    await waitFor(() => server.connections === 3, 'three connections');
    const extra = await client(server.port);
    await waitFor(() => extra.closed(), 'the fourth connection to be refused');
    expect(held.some((c) => c.closed())).toBe(false);
    held[0]?.socket.destroy();
    await waitFor(() => server.connections === 2, 'a slot to free up');
    expect(await measureRtt(`127.0.0.1:${server.port}`)).toBeGreaterThan(0);

    const perIp = await echo({ maxConnectionsPerIp: 2 });
    const a = await client(perIp.port);
    const b = await client(perIp.port);
    const c = await client(perIp.port);
    await waitFor(() => c.closed(), 'the third connection from one address to be refused');
    expect(a.closed() || b.closed()).toBe(false);
  });

  it('close() drops connections, and a port in use is a configuration error', async () => {
    const server = await echo();
    const c = await client(server.port);
    await server.close();
    await waitFor(() => c.closed(), 'the client to be dropped');
    await server.close();

    const taken = await echo();
    const error: unknown = await startEchoServer({ host: '127.0.0.1', port: taken.port }).catch((e: unknown) => e);
    expect(isIdlegridError(error, 'CONFIG_INVALID')).toBe(true);
    expect(String((error as Error).message)).toContain('EADDRINUSE');
  });
});
