import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { seededRandom, toDeviceId } from '@idlegrid/domain';
import { parseChallengeSeed, verifyRowChecksums } from '@idlegrid/economics';
import { generateKeypair } from '@idlegrid/protocol';
import type { HandledServerMessage, OutgoingAgentMessage, SessionContext } from '../handlers.ts';
import { memoryLogger } from '../testing/test-gateway.ts';
import { ChallengeSolver } from './challenge-solver.ts';
import { findNumpyPython } from './numpy-python.ts';

function session() {
  const sent: OutgoingAgentMessage[] = [];
  const { logger, records } = memoryLogger();
  const context: SessionContext = {
    deviceId: toDeviceId(generateKeypair().address),
    logger,
    send: (m) => {
      sent.push(m);
      return true;
    },
  };
  return { sent, records, context };
}

function challenge(n: number, deadlineMs = 60_000): HandledServerMessage<'verify'> {
  return { type: 'verify', challengeId: `vrf_${n}_${deadlineMs}`, seed: randomBytes(32).toString('hex'), n, deadlineMs };
}

const python = findNumpyPython(process.env);

describe('ChallengeSolver', () => {
  it('answers a cpu challenge with checksums the server accepts, off the event loop', async () => {
    const { sent, context } = session();
    const solver = new ChallengeSolver({ model: 'cpu', python: 'python3' });
    const message = challenge(320);
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    await solver.handler()(message, context);
    clearInterval(ticker);
    expect(sent).toHaveLength(1);
    const answer = sent[0];
    if (answer?.type !== 'verify-result') throw new Error('expected a verify-result');
    expect(answer.challengeId).toBe(message.challengeId);
    expect(answer.elapsedMs).toBeGreaterThan(0);
    expect(verifyRowChecksums(parseChallengeSeed(message.seed), message.n, answer.checksums, seededRandom(3))).toEqual({ ok: true });
    // The product ran in a worker thread: timers kept firing meanwhile (heartbeats keep flowing).
    expect(ticks).toBeGreaterThan(2);
  });

  it('abandons a challenge at its deadline and answers nothing', async () => {
    const { sent, records, context } = session();
    const solver = new ChallengeSolver({ model: 'cpu', python: 'python3' });
    await solver.handler()(challenge(2048, 100), context);
    expect(sent).toHaveLength(0);
    expect(records.some((r) => String(r['msg']).includes('abandoned'))).toBe(true);
  });

  it('stop() cancels the challenge in progress', async () => {
    const { sent, context } = session();
    const solver = new ChallengeSolver({ model: 'cpu', python: 'python3' });
    const pending = solver.handler()(challenge(2048), context);
    setTimeout(() => solver.stop(), 50);
    await pending;
    expect(sent).toHaveLength(0);
  });

  it.skipIf(!python)(`a GPU claim without CUDA is computed on the CPU, answered, and warned about (${python ?? 'SKIPPED: no python with numpy'})`, async () => {
    const { sent, records, context } = session();
    const solver = new ChallengeSolver({ model: 'H100', python: python ?? '' });
    const message = challenge(64);
    await solver.handler()(message, context);
    const answer = sent[0];
    if (answer?.type !== 'verify-result') throw new Error('expected a verify-result');
    expect(verifyRowChecksums(parseChallengeSeed(message.seed), 64, answer.checksums, seededRandom(5))).toEqual({ ok: true });
    const device = String(records.find((r) => r['msg'] === 'verification challenge answered')?.['device']);
    const warned = records.some((r) => r['level'] === 40 && String(r['msg']).includes('will fail the timing check'));
    expect(warned).toBe(!device.startsWith('cuda'));
  });
});
