import os from 'node:os';

/** Facts about the host the probe and the heartbeat need; injectable for tests. */
export interface HostFacts {
  cpuModel: string;
  cpuCores: number;
  memoryBytes: number;
  platform: string;
  release: string;
  arch: string;
}

export function readHostFacts(): HostFacts {
  const cpus = os.cpus();
  return {
    cpuModel: (cpus[0]?.model.trim() || 'unknown').slice(0, 200),
    cpuCores: Math.max(1, os.availableParallelism(), cpus.length),
    memoryBytes: os.totalmem(),
    platform: os.platform().slice(0, 50),
    release: os.release().slice(0, 100),
    arch: os.arch().slice(0, 50),
  };
}

/** The load figures a heartbeat carries. */
export interface HostLoad {
  /** 1-minute load average divided by the number of cores (1.0 = every core busy). */
  cpu: number;
  memoryUsedBytes: number;
}

export type LoadSampler = () => HostLoad;

export function sampleHostLoad(): HostLoad {
  const cores = Math.max(1, os.availableParallelism());
  const oneMinute = os.loadavg()[0] ?? 0;
  return {
    cpu: clamp(oneMinute / cores, 0, 1024),
    memoryUsedBytes: Math.max(0, os.totalmem() - os.freemem()),
  };
}

function clamp(value: number, low: number, high: number): number {
  if (!Number.isFinite(value)) return low;
  return Math.min(high, Math.max(low, value));
}
