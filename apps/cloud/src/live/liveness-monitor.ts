import type { Logger } from 'pino';
import type { Clock } from '@idlegrid/domain';
import type { Store } from '@idlegrid/store';
import type { DeviceRegistry, LiveDevice } from './device-registry.ts';

const DEFAULT_FLUSH_CHUNK = 2_000;

export interface LivenessOptions {
  registry: DeviceRegistry;
  store: Store;
  clock: Clock;
  logger: Logger;
  nodeLossSeconds: number;
  flushSeconds: number;
  /**
   * Rows per store statement batch in a flush; the event loop gets a turn between batches so that a
   * flush of many devices never blocks heartbeats and API requests for long (default 2,000).
   */
  flushChunk?: number;
  /** Called for each device declared lost (after it left the registry). */
  onLost?: (device: LiveDevice) => void;
  /** Called with the devices whose heartbeats were just flushed (lease nodes follow them). */
  onFlushed?: (devices: LiveDevice[]) => Promise<void>;
}

/**
 * Declares silent devices offline and flushes heartbeat timestamps to the store in
 * batches. Liveness itself is decided in memory from the registry.
 */
export class LivenessMonitor {
  private sweepTimer: NodeJS.Timeout | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(private readonly o: LivenessOptions) {}

  start(): void {
    const sweepMs = Math.max(100, Math.min(1000, (this.o.nodeLossSeconds * 1000) / 4));
    this.sweepTimer = setInterval(() => void this.guard('sweep', this.sweep()), sweepMs);
    this.flushTimer = setInterval(() => void this.guard('flush', this.flush()), this.o.flushSeconds * 1000);
    this.sweepTimer.unref();
    this.flushTimer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.sweepTimer);
    clearInterval(this.flushTimer);
    await this.flush();
  }

  async sweep(): Promise<void> {
    const lossMs = this.o.nodeLossSeconds * 1000;
    for (const device of this.o.registry.silentSince(this.o.clock.now(), lossMs)) {
      await this.markLost(device, 'AGENT_SILENT', `no message for ${this.o.nodeLossSeconds} s`);
    }
  }

  /** Takes a device out of the supply (connection closed or silent) and records when it was last seen. */
  async markLost(device: LiveDevice, code: string, reason: string): Promise<void> {
    if (!this.o.registry.remove(device.id, device.sessionId)) return;
    this.o.logger.info({ deviceId: device.id, reason }, 'device offline');
    device.disconnect(code, reason);
    this.o.onLost?.(device);
    await this.o.store.devices.markOffline(device.id, device.lastSeenMs);
  }

  /**
   * Writes the timestamps (and coordinates) that changed since the last flush, in batches of
   * `flushChunk` rows with a turn of the event loop between them. A flush that is still running
   * when the next is due is not overlapped: the next one only starts after it.
   */
  async flush(): Promise<void> {
    if (this.flushing) return this.flushing.then(() => this.flush());
    const rows = this.o.registry.takeDirty();
    if (rows.length === 0) return;
    this.flushing = this.writeSeen(rows).finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async writeSeen(rows: LiveDevice[]): Promise<void> {
    const chunk = Math.max(1, this.o.flushChunk ?? DEFAULT_FLUSH_CHUNK);
    for (let start = 0; start < rows.length; start += chunk) {
      if (start > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const batch = rows.slice(start, start + chunk);
      await this.o.store.devices.markSeenBatch(
        batch.map((d) => ({ id: d.id, lastSeenMs: d.lastSeenMs, ...(d.coordinate ? { coordinate: d.coordinate } : {}) })),
      );
      await this.o.onFlushed?.(batch);
    }
  }

  private async guard(what: string, work: Promise<void>): Promise<void> {
    try {
      await work;
    } catch (err) {
      this.o.logger.error({ err }, `liveness ${what} failed`);
    }
  }
}
