import { describe, expect, it } from 'vitest';
import { Metrics } from './metrics.ts';

describe('Metrics histogram', () => {
  it('renders cumulative Prometheus buckets, sum and count', () => {
    const metrics = new Metrics();
    const observe = metrics.histogram('lag_ms', 'a lag', [10, 100, 1000]);
    for (const v of [1, 10, 11, 500, 5000]) observe(v);
    const text = metrics.render();
    expect(text).toContain('# TYPE lag_ms histogram');
    expect(text).toContain('lag_ms_bucket{le="10"} 2');
    expect(text).toContain('lag_ms_bucket{le="100"} 3');
    expect(text).toContain('lag_ms_bucket{le="1000"} 4');
    expect(text).toContain('lag_ms_bucket{le="+Inf"} 5');
    expect(text).toContain('lag_ms_sum 5522');
    expect(text).toContain('lag_ms_count 5');
  });

  it('returns the same series when a histogram is defined twice', () => {
    const metrics = new Metrics();
    metrics.histogram('h', 'h', [1])(0.5);
    metrics.histogram('h', 'h', [1])(2);
    expect(metrics.render()).toContain('h_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2');
  });
});
