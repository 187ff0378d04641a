import { listNodes } from '@idlegrid/ray';
import type { RayInspector } from './ray-inspector.ts';

/** Asks the head's State API (GET /api/v0/nodes, with the lease's token) which nodes Ray sees. */
export const rayStateInspector: RayInspector = {
  async nodes(dashboardUrl, token) {
    return (await listNodes(dashboardUrl, token)).map((n) => ({ nodeId: n.nodeId, alive: n.alive }));
  },
};
