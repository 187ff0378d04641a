import type { HandledServerMessage, ServerMessageHandler, SessionContext } from '../handlers.ts';
import { measureRtt } from './measure-rtt.ts';
import type { NetworkPosition } from './network-position.ts';

type ProbePeer = HandledServerMessage<'probe'>['peers'][number];

export interface ProbeHandlerOptions {
  position: NetworkPosition;
  /** RTT in ms to an echo address, null when unreachable. Default measureRtt (3 probes, 2 s). */
  measure?: (address: string) => Promise<number | null>;
  /** Peers measured at the same time. Default 4. */
  concurrency?: number;
  /** Called after every round that moved the coordinate (e.g. to save it). */
  onMoved?: (position: NetworkPosition) => Promise<void>;
}

/**
 * The `probe` handler: measures the RTT to every listed peer (never itself, each peer
 * once), applies a Vivaldi update for each answer from a peer whose coordinate came
 * with the probe, and reports all RTTs (null = no answer) in one `probe-result`.
 * One round at a time: a probe that arrives during a round is dropped.
 */
export function createProbeHandler(options: ProbeHandlerOptions): ServerMessageHandler<'probe'> {
  const measure = options.measure ?? ((address: string) => measureRtt(address));
  const concurrency = Math.max(1, options.concurrency ?? 4);
  let busy = false;

  return async (message, context) => {
    if (busy) {
      context.logger.debug({ peers: message.peers.length }, 'probe ignored: a round is still running');
      return;
    }
    busy = true;
    try {
      await runRound(uniquePeers(message.peers, context), context);
    } finally {
      busy = false;
    }
  };

  async function runRound(peers: ProbePeer[], context: SessionContext): Promise<void> {
    const rtts = await mapLimited(peers, concurrency, (peer) => measure(peer.address));
    let moved = false;
    peers.forEach((peer, i) => {
      const rtt = rtts[i] ?? null;
      if (rtt !== null && peer.coordinate && options.position.observe(peer.coordinate, rtt)) moved = true;
    });
    const sent = context.send({ type: 'probe-result', rtts: peers.map((peer, i) => ({ deviceId: peer.deviceId, rttMs: rtts[i] ?? null })) });
    context.logger.debug(
      { peers: peers.length, answered: rtts.filter((r) => r !== null).length, coordinate: options.position.current, sent },
      'probe round done',
    );
    if (moved && options.onMoved) await options.onMoved(options.position);
  }
}

function uniquePeers(peers: readonly ProbePeer[], context: SessionContext): ProbePeer[] {
  const seen = new Set<string>([context.deviceId]);
  return peers.filter((peer) => !seen.has(peer.deviceId) && Boolean(seen.add(peer.deviceId)));
}

/** `fn` over `items` with at most `limit` calls in flight; results in input order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
