import type { RayInspector, RayNodeState } from '../leases/ray-inspector.ts';

/** For in-process tests of the lease state machine: Ray's node list as the test sets it. */
export class FakeInspector implements RayInspector {
  readonly clusters = new Map<string, RayNodeState[]>();

  nodes(dashboardUrl: string): Promise<RayNodeState[]> {
    const nodes = this.clusters.get(dashboardUrl);
    return nodes ? Promise.resolve(nodes) : Promise.reject(new Error('connection refused'));
  }
}
