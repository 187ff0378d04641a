import { randomBytes } from 'node:crypto';
import { connect, isIP } from 'node:net';
import { ECHO_FRAME_BYTES, ECHO_MAGIC } from './echo-server.ts';

export interface MeasureRttOptions {
  /** Probe frames sent one after another over one connection. Default 3. */
  probes?: number;
  /** Limit for connecting and all probes together. Default 2 s. */
  timeoutMs?: number;
}

export const DEFAULT_MEASURE_RTT = { probes: 3, timeoutMs: 2_000 } as const;

/** Host and port of `ip:port` or `[ipv6]:port`; null for anything else (host names included). */
export function parseEchoAddress(address: string): { host: string; port: number } | null {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(address);
  if (!match) return null;
  const host = match[1] ?? match[2] ?? '';
  const port = Number(match[3]);
  if (isIP(host) === 0 || port < 1 || port > 65_535) return null;
  return { host, port };
}

/**
 * Round-trip time in ms to a peer's RTT echo at `address` (`ip:port`): connects once,
 * sends `probes` frames one at a time, each after the previous answer, and returns the
 * smallest round trip (process.hrtime). Connection setup is not measured. Resolves
 * null when the address is unusable, the peer cannot be reached, nothing answered
 * within the timeout, or the answer is not our frame (not an idlegrid echo). Never rejects.
 */
export function measureRtt(address: string, options: MeasureRttOptions = {}): Promise<number | null> {
  const probes = Math.max(1, Math.floor(options.probes ?? DEFAULT_MEASURE_RTT.probes));
  const timeoutMs = options.timeoutMs ?? DEFAULT_MEASURE_RTT.timeoutMs;
  const target = parseEchoAddress(address);
  if (!target) return Promise.resolve(null);
  return new Promise((resolve) => {
    const samples: number[] = [];
    const token = randomBytes(ECHO_FRAME_BYTES - ECHO_MAGIC.length - 1);
    let frame: Buffer = Buffer.alloc(0);
    let received: Buffer = Buffer.alloc(0);
    let sentAt = 0n;
    let done = false;
    const socket = connect({ host: target.host, port: target.port, noDelay: true });
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(samples.length > 0 ? Math.min(...samples) : null);
    };
    const timer = setTimeout(finish, timeoutMs);
    const sendNext = (): void => {
      if (samples.length >= probes) {
        finish();
        return;
      }
      frame = Buffer.concat([ECHO_MAGIC, Buffer.of(samples.length), token]);
      received = Buffer.alloc(0);
      sentAt = process.hrtime.bigint();
      socket.write(frame);
    };
    socket.on('connect', sendNext);
    socket.on('data', (chunk: Buffer) => {
      const at = process.hrtime.bigint();
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      if (received.length < ECHO_FRAME_BYTES) return;
      if (!received.equals(frame)) {
        samples.length = 0; // not an echo of our frame: trust none of it
        finish();
        return;
      }
      samples.push(Math.max(0.001, Math.round(Number(at - sentAt) / 1_000) / 1_000));
      sendNext();
    });
    socket.on('error', finish);
    socket.on('close', finish);
  });
}
