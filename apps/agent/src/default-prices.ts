import type { GpuModel } from '@idlegrid/domain';

/**
 * The asking price per GPU-hour (USD, decimal string) a device offers when its owner
 * sets none: roughly what community GPU markets charged for each class in 2025, so a
 * new supplier is neither idle for being expensive nor giving compute away. A `cpu`
 * slot is the whole host's CPUs. Suppliers override it with --price / IDLEGRID_PRICE.
 */
export const DEFAULT_PRICE_PER_GPU_HOUR: { readonly [M in GpuModel]: string } = {
  B200: '4.00',
  H200: '3.00',
  GH200: '2.50',
  H100: '2.00',
  H800: '1.80',
  A100: '1.20',
  A800: '1.00',
  L40S: '0.80',
  RTX6000ADA: '0.75',
  L40: '0.70',
  RTX5090: '0.60',
  A6000: '0.45',
  A40: '0.45',
  A10G: '0.40',
  RTX4090: '0.40',
  A10: '0.35',
  L4: '0.35',
  V100: '0.30',
  RTX4080: '0.25',
  RTX3090: '0.20',
  T4: '0.15',
  RTX3080: '0.15',
  cpu: '0.50',
};

export function defaultPriceFor(model: GpuModel): string {
  return DEFAULT_PRICE_PER_GPU_HOUR[model];
}
