/** A Ray node as the head's own API reports it. */
export interface RayNodeState {
  nodeId: string;
  alive: boolean;
}

/**
 * How the control plane asks a cluster's head which nodes Ray itself sees (so readiness
 * and node loss never rest on an agent's word alone).
 */
export interface RayInspector {
  nodes(dashboardUrl: string, token: string): Promise<RayNodeState[]>;
}
