import { clusterRequestSchema, quoteResponseSchema } from '@idlegrid/protocol';
import type { Capacity } from '../../scheduling/capacity.ts';
import { quoteView, toPlacementRequest } from '../../scheduling/quote-view.ts';
import type { ApiRouter } from '../router.ts';

export function addQuoteRoutes(router: ApiRouter, capacity: Capacity): void {
  router.add(
    {
      method: 'post',
      path: '/v1/quotes',
      summary: 'Dry-run placement: devices, regions, estimated RTT and price, or why it cannot fit and what could',
      tag: 'clusters',
      auth: false,
      body: clusterRequestSchema,
      response: quoteResponseSchema,
    },
    ({ body }) => quoteView(body, capacity.quote(toPlacementRequest(body))),
  );
}
