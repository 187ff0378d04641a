import type { Logger } from 'pino';
import type { AgentHandle } from './agent.ts';

type SignalListener = (signal: NodeJS.Signals) => void;

/** The part of `process` the signal handlers use; injectable for tests. */
export interface SignalTarget {
  on(event: NodeJS.Signals, listener: SignalListener): unknown;
  off(event: NodeJS.Signals, listener: SignalListener): unknown;
}

export interface SignalHandlerOptions {
  target?: SignalTarget;
  exit?: (code: number) => void;
}

const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/**
 * On the first SIGINT or SIGTERM, stops the agent and exits 0 (1 if stopping failed).
 * A second signal while stopping exits 1 at once. Returns a function that removes the
 * handlers.
 */
export function installSignalHandlers(handle: AgentHandle, logger: Logger, options: SignalHandlerOptions = {}): () => void {
  const target = options.target ?? process;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let stopping = false;
  const onSignal: SignalListener = (signal) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal; exiting without waiting');
      exit(1);
      return;
    }
    stopping = true;
    logger.info({ signal }, 'stopping the agent');
    handle.stop().then(
      () => exit(0),
      (err: unknown) => {
        logger.error({ err }, 'the agent did not stop cleanly');
        exit(1);
      },
    );
  };
  for (const signal of SIGNALS) target.on(signal, onSignal);
  return () => {
    for (const signal of SIGNALS) target.off(signal, onSignal);
  };
}
