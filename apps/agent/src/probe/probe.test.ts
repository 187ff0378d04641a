import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hardwareReportSchema } from '@idlegrid/protocol';
import { CommandError, execCommand, type CommandRunner } from './command-runner.ts';
import type { HostFacts } from './host.ts';
import { GPU_QUERY_FIELDS, LEGACY_GPU_QUERY_FIELDS, parseCudaVersion, parseGpuCsv } from './nvidia-smi.ts';
import { computeOffer, probeHardware } from './probe.ts';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const H100_CSV = fixture('nvidia-smi-h100.csv');
const H100_TXT = fixture('nvidia-smi-h100.txt');
const H100_XML = fixture('nvidia-smi-h100.xml');

const HOST: HostFacts = {
  cpuModel: 'AMD EPYC 9454', cpuCores: 16, memoryBytes: 128 * 2 ** 30, platform: 'linux', release: '6.8.0', arch: 'x64',
};

interface FakeNvidiaSmi {
  csv?: string | Error;
  plain?: string | Error;
  xml?: string | Error;
  legacyCsv?: string | Error;
}

/** A CommandRunner that answers like nvidia-smi from fixture text, recording each call. */
function fakeRunner(answers: FakeNvidiaSmi, calls: string[][] = []): CommandRunner {
  return (file, args) => {
    calls.push([file, ...args]);
    const query = args.find((a) => a.startsWith('--query-gpu='));
    let answer: string | Error | undefined;
    if (query) answer = query.includes('compute_cap') ? answers.csv : answers.legacyCsv;
    else if (args.includes('-x')) answer = answers.xml;
    else answer = answers.plain;
    if (answer === undefined) return Promise.reject(new CommandError('failed', 'no answer'));
    return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
  };
}

const csvLine = (i: number, name: string, extra: Partial<Record<'uuid' | 'mem' | 'pcieGen' | 'power' | 'cc', string>> = {}): string =>
  [
    i, name, extra.uuid ?? `GPU-0000000${i}-aaaa-bbbb-cccc-dddddddddddd`, extra.mem ?? '24564', '1', '550.54.15',
    extra.pcieGen ?? '4', '16', extra.power ?? '450.00', '2520', extra.cc ?? '8.9',
  ].join(', ');

describe('parseGpuCsv', () => {
  it('reads the H100 fixture', () => {
    const { gpus, rejected } = parseGpuCsv(H100_CSV, '13.0');
    expect(rejected).toEqual([]);
    expect(gpus).toEqual([
      {
        index: 0,
        name: 'NVIDIA H100 80GB HBM3',
        model: 'H100',
        uuid: 'GPU-579a132c-4de3-6576-12d3-9410dadc295b',
        memoryMiB: 81559,
        driverVersion: '580.159.04',
        cudaVersion: '13.0',
        pcieGen: 5,
        pcieWidth: 16,
        powerLimitW: 700,
        computeCapability: '9.0',
      },
    ]);
  });

  it('turns [N/A], [Not Supported] and empty values into null', () => {
    const line = csvLine(0, 'NVIDIA GeForce RTX 4090', { pcieGen: '[N/A]', power: '[Not Supported]', cc: '' });
    const [gpu] = parseGpuCsv(line, null).gpus;
    expect(gpu).toMatchObject({ model: 'RTX4090', pcieGen: null, pcieWidth: 16, powerLimitW: null, computeCapability: null, cudaVersion: null });
    const [noUuid] = parseGpuCsv(csvLine(1, 'NVIDIA L4', { uuid: '[N/A]' }), null).gpus;
    expect(noUuid?.uuid).toBe('');
  });

  it('rejects lines without a readable index, name or memory, and garbage', () => {
    const text = [
      csvLine(0, 'NVIDIA A100-SXM4-80GB'),
      csvLine(1, 'NVIDIA A100-SXM4-80GB', { mem: '[N/A]' }),
      'NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver.',
      '',
      'x, y, z',
    ].join('\n');
    const { gpus, rejected } = parseGpuCsv(text, null);
    expect(gpus.map((g) => g.index)).toEqual([0]);
    expect(rejected).toHaveLength(3);
  });

  it('keeps a product name that contains a comma', () => {
    const [gpu] = parseGpuCsv(csvLine(0, 'NVIDIA RTX 6000 Ada Generation, Rev B'), null).gpus;
    expect(gpu).toMatchObject({ name: 'NVIDIA RTX 6000 Ada Generation, Rev B', model: 'RTX6000ADA', memoryMiB: 24564, computeCapability: '8.9' });
  });

  it('reads output of the legacy query without compute_cap', () => {
    const line = csvLine(0, 'Tesla V100-SXM2-16GB').split(', ').slice(0, LEGACY_GPU_QUERY_FIELDS.length).join(', ');
    const [gpu] = parseGpuCsv(line, '11.4', LEGACY_GPU_QUERY_FIELDS).gpus;
    expect(gpu).toMatchObject({ model: 'V100', computeCapability: null, powerLimitW: 450 });
    expect(GPU_QUERY_FIELDS).toHaveLength(LEGACY_GPU_QUERY_FIELDS.length + 1);
  });
});

describe('parseCudaVersion', () => {
  it('reads the plain and the XML output', () => {
    expect(parseCudaVersion(H100_TXT)).toBe('13.0');
    expect(parseCudaVersion(H100_XML)).toBe('13.0');
  });
  it('returns null when there is none', () => {
    expect(parseCudaVersion('CUDA Version: N/A')).toBeNull();
    expect(parseCudaVersion('garbage')).toBeNull();
  });
});

describe('computeOffer', () => {
  const gpus = (names: string[]) => parseGpuCsv(names.map((n, i) => csvLine(i, n)).join('\n'), null).gpus;
  it('offers the most common known model with its count', () => {
    expect(computeOffer(gpus(['NVIDIA GeForce RTX 4090', 'NVIDIA GeForce RTX 3090', 'NVIDIA GeForce RTX 4090']))).toEqual({ model: 'RTX4090', slots: 2 });
  });
  it('breaks ties towards the model listed first and never offers unknown models', () => {
    expect(computeOffer(gpus(['NVIDIA GeForce RTX 3090', 'NVIDIA H100 PCIe', 'Matrox G200', 'Matrox G200']))).toEqual({ model: 'H100', slots: 1 });
    expect(computeOffer(gpus(['Matrox G200']))).toEqual({ model: 'cpu', slots: 1 });
    expect(computeOffer([])).toEqual({ model: 'cpu', slots: 1 });
  });
});

describe('probeHardware', () => {
  it('builds a valid report from the H100 fixture', async () => {
    const calls: string[][] = [];
    const report = await probeHardware({ run: fakeRunner({ csv: H100_CSV, plain: H100_TXT }, calls), host: () => HOST });
    expect(hardwareReportSchema.parse(report)).toEqual(report);
    expect(report.offer).toEqual({ model: 'H100', slots: 1 });
    expect(report.gpus[0]).toMatchObject({ model: 'H100', memoryMiB: 81559, uuid: 'GPU-579a132c-4de3-6576-12d3-9410dadc295b', cudaVersion: '13.0' });
    expect(report.cpu).toEqual({ model: 'AMD EPYC 9454', cores: 16 });
    expect(report.os).toEqual({ platform: 'linux', release: '6.8.0', arch: 'x64' });
    expect(calls).toContainEqual([
      'nvidia-smi',
      '--query-gpu=index,name,uuid,memory.total,memory.used,driver_version,pcie.link.gen.current,pcie.link.width.current,power.limit,clocks.max.sm,compute_cap',
      '--format=csv,noheader,nounits',
    ]);
  });

  it('falls back to the XML output for the CUDA version', async () => {
    const report = await probeHardware({ run: fakeRunner({ csv: H100_CSV, plain: 'no header here', xml: H100_XML }), host: () => HOST });
    expect(report.gpus[0]?.cudaVersion).toBe('13.0');
    const none = await probeHardware({ run: fakeRunner({ csv: H100_CSV }), host: () => HOST });
    expect(none.gpus[0]?.cudaVersion).toBeNull();
  });

  it('reports eight GPUs of mixed models and offers the majority', async () => {
    const csv = [0, 1, 2, 3, 4].map((i) => csvLine(i, 'NVIDIA A100-SXM4-80GB', { mem: '81920' }))
      .concat([5, 6, 7].map((i) => csvLine(i, 'NVIDIA L40S'))).join('\n');
    const report = await probeHardware({ run: fakeRunner({ csv, plain: H100_TXT }), host: () => HOST });
    expect(report.gpus).toHaveLength(8);
    expect(report.gpus.map((g) => g.model)).toEqual(['A100', 'A100', 'A100', 'A100', 'A100', 'L40S', 'L40S', 'L40S']);
    expect(report.offer).toEqual({ model: 'A100', slots: 5 });
  });

  it('retries without compute_cap when an old driver refuses the field', async () => {
    const legacy = csvLine(0, 'Tesla T4').split(', ').slice(0, LEGACY_GPU_QUERY_FIELDS.length).join(', ');
    const report = await probeHardware({
      run: fakeRunner({ csv: new CommandError('failed', 'Field "compute_cap" is not a valid field to query.'), legacyCsv: legacy, plain: H100_TXT }),
      host: () => HOST,
    });
    expect(report.offer).toEqual({ model: 'T4', slots: 1 });
    expect(report.gpus[0]?.computeCapability).toBeNull();
  });

  it('offers one cpu slot when nvidia-smi is missing, fails, times out or prints garbage', async () => {
    const cases: FakeNvidiaSmi[] = [
      { csv: new CommandError('missing', 'nvidia-smi not found'), plain: new CommandError('missing', 'nvidia-smi not found') },
      { csv: new CommandError('failed', 'NVIDIA-SMI has failed'), legacyCsv: new CommandError('failed', 'NVIDIA-SMI has failed') },
      { csv: new CommandError('timeout', 'did not finish') },
      { csv: new Error('some unexpected runner error') },
      { csv: 'No devices were found\n', plain: H100_TXT },
      { csv: '', plain: '' },
    ];
    for (const answers of cases) {
      const report = await probeHardware({ run: fakeRunner(answers), host: () => HOST });
      expect(report.gpus).toEqual([]);
      expect(report.offer).toEqual({ model: 'cpu', slots: 1 });
    }
  });

  it('runs the real nvidia-smi path: an absent program yields a cpu slot', async () => {
    const report = await probeHardware({ nvidiaSmi: '/nonexistent/idlegrid/nvidia-smi', host: () => HOST });
    expect(report.offer).toEqual({ model: 'cpu', slots: 1 });
  });

  it('probes this host with its real facts', async () => {
    const report = await probeHardware({ nvidiaSmi: '/nonexistent/idlegrid/nvidia-smi' });
    expect(report.cpu.cores).toBeGreaterThan(0);
    expect(report.memoryBytes).toBeGreaterThan(0);
  });
});

describe('execCommand', () => {
  it('classifies missing programs, failures and timeouts', async () => {
    await expect(execCommand('/nonexistent/idlegrid/prog', [], { timeoutMs: 1000 })).rejects.toMatchObject({ failure: 'missing' });
    await expect(execCommand('sh', ['-c', 'echo boom >&2; exit 3'], { timeoutMs: 5000 })).rejects.toMatchObject({ failure: 'failed', message: expect.stringContaining('boom') as unknown });
    await expect(execCommand('sleep', ['5'], { timeoutMs: 100 })).rejects.toMatchObject({ failure: 'timeout' });
    await expect(execCommand('sh', ['-c', 'echo ok'], { timeoutMs: 5000 })).resolves.toBe('ok\n');
  });
});
