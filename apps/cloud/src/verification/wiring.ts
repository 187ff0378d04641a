import type { Logger } from 'pino';
import type { Clock, RandomSource } from '@idlegrid/domain';
import type { Store } from '@idlegrid/store';
import type { CloudConfig } from '../config.ts';
import type { DeviceRegistry } from '../live/device-registry.ts';
import type { Capacity } from '../scheduling/capacity.ts';
import { Verifier, type FraudEvent } from './verifier.ts';

/** Builds the control plane's verifier from the configuration (verifySeconds, verifyGpuN, verifyCpuN, verifyAllowanceMs). */
export function createVerifier(deps: {
  config: CloudConfig;
  store: Store;
  registry: DeviceRegistry;
  capacity: Capacity;
  clock: Clock;
  random: RandomSource;
  logger: Logger;
  /** Each callback is called in turn for every failed challenge (slashing first, then observers); a failure is logged. */
  onFraud: ReadonlyArray<(event: FraudEvent) => unknown>;
}): Verifier {
  const { config, registry, capacity } = deps;
  return new Verifier({
    store: deps.store,
    registry,
    clock: deps.clock,
    random: deps.random,
    logger: deps.logger,
    policy: { gpuN: config.verifyGpuN, cpuN: config.verifyCpuN, allowanceMs: config.verifyAllowanceMs },
    recheckSeconds: config.verifySeconds,
    isBusy: (id) => {
      const live = registry.get(id);
      return live !== undefined && capacity.freeSlots(id) < live.slots;
    },
    onFraud: async (event) => {
      for (const callback of deps.onFraud) {
        try {
          await callback(event);
        } catch (err) {
          deps.logger.error({ err, deviceId: event.deviceId, verificationId: event.verificationId }, 'a fraud callback failed');
        }
      }
    },
  });
}
