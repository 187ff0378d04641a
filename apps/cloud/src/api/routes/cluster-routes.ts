import type { Clock } from '@idlegrid/domain';
import {
  clusterIdParamSchema, clusterListQuerySchema, clusterListResponseSchema, clusterRequestSchema, clusterViewSchema,
  extendRequestSchema, auditResponseSchema,
} from '@idlegrid/protocol';
import type { Ledger } from '@idlegrid/chain';
import { ACTIVE_LEASE_STATES, type LeaseRecord, type Store } from '@idlegrid/store';
import type { Context } from 'hono';
import { clusterView } from '../../leases/cluster-view.ts';
import type { LeaseController } from '../../leases/lease-controller.ts';
import { auditLease } from '../../settlement/audit.ts';
import { FORWARDED_ORIGIN_HEADER } from '../../replicas/leader-forward.ts';
import type { AppEnv } from '../app-env.ts';
import type { ApiRouter } from '../router.ts';

export function addClusterRoutes(router: ApiRouter, store: Store, leases: LeaseController, clock: Clock, ledger: Ledger | undefined): void {
  // A request a follower replica forwarded is answered with the addresses of the replica the buyer used.
  const origin = (c: Context<AppEnv>) => {
    const forwarded = c.req.header(FORWARDED_ORIGIN_HEADER);
    return forwarded !== undefined && /^https?:\/\/[^/\s]+$/.test(forwarded) ? forwarded : new URL(c.req.url).origin;
  };
  const view = async (c: Context<AppEnv>, lease: LeaseRecord) => clusterView(lease, await store.leases.nodes(lease.id), origin(c), clock.now());

  router.add(
    { method: 'post', path: '/v1/clusters', summary: 'Book a Ray cluster (returns at once; poll GET /v1/clusters/{id} until ready)', tag: 'clusters', auth: true, body: clusterRequestSchema, response: clusterViewSchema, status: 201 },
    async ({ body, c }) => view(c, await leases.book(c.get('wallet'), body)),
  );

  router.add(
    { method: 'get', path: '/v1/clusters', summary: 'Your clusters, newest first', tag: 'clusters', auth: true, query: clusterListQuerySchema, response: clusterListResponseSchema },
    async ({ query, c }) => {
      const states = query.state === undefined ? undefined : query.state === 'active' ? ACTIVE_LEASE_STATES : [query.state];
      const rows = await store.leases.list({ buyer: c.get('wallet'), ...(states ? { states } : {}), limit: 10_000 });
      const newest = rows.sort((a, b) => b.createdAtMs - a.createdAtMs).slice(0, query.limit);
      return { clusters: await Promise.all(newest.map((l) => view(c, l))) };
    },
  );

  router.add(
    { method: 'get', path: '/v1/clusters/{id}', summary: 'One cluster: state, nodes, endpoints, accrued cost', tag: 'clusters', auth: true, params: clusterIdParamSchema, response: clusterViewSchema },
    async ({ params, c }) => view(c, await leases.owned(params.id, c.get('wallet'))),
  );

  router.add(
    { method: 'post', path: '/v1/clusters/{id}/extend', summary: 'Add hours to a running cluster', tag: 'clusters', auth: true, params: clusterIdParamSchema, body: extendRequestSchema, response: clusterViewSchema },
    async ({ params, body, c }) => view(c, await leases.extend(params.id, c.get('wallet'), body.hours)),
  );

  router.add(
    { method: 'post', path: '/v1/clusters/{id}/release', summary: 'Stop the cluster now; Ray is stopped on every node', tag: 'clusters', auth: true, params: clusterIdParamSchema, response: clusterViewSchema },
    async ({ params, c }) => view(c, await leases.release(params.id, c.get('wallet'), 'released by the buyer')),
  );

  if (!ledger) return;
  router.add(
    {
      method: 'get',
      path: '/v1/clusters/{id}/audit',
      summary: 'Settlement audit: nodes, billed seconds, payouts, fee, burn, refund, every transaction, Merkle proofs; re-checked against the chain',
      tag: 'clusters',
      auth: true,
      params: clusterIdParamSchema,
      response: auditResponseSchema,
    },
    async ({ params, c }) => auditLease(store, ledger, await leases.owned(params.id, c.get('wallet'))),
  );
}
