import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { RayError } from './errors.ts';

/** Splits `host:port` / `[v6]:port`. */
export function splitHostPort(address: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address);
  const port = Number(m?.[2]);
  if (!m?.[1] || !Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new RayError('RAY_INVALID_OPTIONS', `Not a host:port address: ${address}`, { address });
  }
  return { host: m[1], port };
}

function connectOnce(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Until a TCP connection to `address` succeeds; RAY_UNREACHABLE after `withinMs`. */
export async function waitForTcp(address: string, withinMs: number): Promise<void> {
  const { host, port } = splitHostPort(address);
  const deadline = Date.now() + withinMs;
  for (;;) {
    if (await connectOnce(host, port, Math.min(2_000, Math.max(100, deadline - Date.now())))) return;
    if (Date.now() >= deadline) {
      throw new RayError('RAY_UNREACHABLE', `The Ray head's GCS at ${address} does not accept connections (waited ${withinMs} ms)`, { address, withinMs });
    }
    await sleep(500);
  }
}
