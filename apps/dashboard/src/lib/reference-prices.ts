/**
 * Hyperscaler on-demand reference prices, per GPU-hour in USD (Linux, us-east-1 / us-central1,
 * no commitment), used only to show a buyer what an idlegrid quote saves. Each entry is the
 * instance's list price divided by its GPU count, with where it was published and the date of
 * that price. List prices change: update an entry together with its source and date.
 */
export interface ReferencePrice {
  readonly usdPerGpuHour: number;
  readonly instance: string;
  readonly source: string;
  readonly date: string;
}

export const REFERENCE_PRICES: Readonly<Record<string, ReferencePrice>> = {
  H100: { usdPerGpuHour: 12.29, instance: 'AWS p5.48xlarge (8× H100 80 GB) at $98.32/h', source: 'aws.amazon.com/ec2/instance-types/p5 (launch list price)', date: '2023-07-26' },
  A100: { usdPerGpuHour: 4.1, instance: 'AWS p4d.24xlarge (8× A100 40 GB) at $32.77/h', source: 'aws.amazon.com/ec2/instance-types/p4 (launch list price)', date: '2020-11-02' },
  V100: { usdPerGpuHour: 3.06, instance: 'AWS p3.2xlarge (1× V100 16 GB) at $3.06/h', source: 'aws.amazon.com/ec2/instance-types/p3 (list price)', date: '2017-10-25' },
  L40S: { usdPerGpuHour: 1.86, instance: 'AWS g6e.xlarge (1× L40S 48 GB) at $1.861/h', source: 'aws.amazon.com/ec2/instance-types/g6e (launch list price)', date: '2024-08-15' },
  L4: { usdPerGpuHour: 0.8, instance: 'AWS g6.xlarge (1× L4 24 GB) at $0.805/h', source: 'aws.amazon.com/ec2/instance-types/g6 (launch list price)', date: '2024-04-04' },
  A10G: { usdPerGpuHour: 1.01, instance: 'AWS g5.xlarge (1× A10G 24 GB) at $1.006/h', source: 'aws.amazon.com/ec2/instance-types/g5 (launch list price)', date: '2021-11-11' },
  T4: { usdPerGpuHour: 0.53, instance: 'AWS g4dn.xlarge (1× T4 16 GB) at $0.526/h', source: 'aws.amazon.com/ec2/instance-types/g4 (launch list price)', date: '2019-09-20' },
  cpu: { usdPerGpuHour: 0.17, instance: 'AWS c5.xlarge (4 vCPU, one CPU slot) at $0.17/h', source: 'aws.amazon.com/ec2/pricing/on-demand (list price)', date: '2017-11-06' },
};

/** The saving of `pricePerGpuHour` against the reference for `model`, or null without one. */
export function savingAgainstReference(model: string, pricePerGpuHour: number): { percent: number; reference: ReferencePrice } | null {
  const reference = REFERENCE_PRICES[model];
  if (!reference || !(pricePerGpuHour >= 0)) return null;
  return { percent: Math.round((1 - pricePerGpuHour / reference.usdPerGpuHour) * 100), reference };
}
