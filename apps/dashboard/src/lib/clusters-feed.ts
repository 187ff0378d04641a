import { useEffect, useState } from 'react';
import type { ClusterView } from '@idlegrid/protocol';
import { request, subscribeEvents } from './api.ts';

/**
 * The signed-in wallet's clusters, kept live by GET /v1/events/stream (`clusters` events);
 * the first answer comes from GET /v1/clusters so the page never waits on the stream.
 */
export function useClustersFeed(apiKey: string | null): { clusters: ClusterView[] | undefined; error: unknown; live: boolean } {
  const [clusters, setClusters] = useState<ClusterView[]>();
  const [error, setError] = useState<unknown>(null);
  const [live, setLive] = useState(false);
  useEffect(() => {
    if (!apiKey) return;
    const controller = new AbortController();
    request<{ clusters: ClusterView[] }>('GET', '/v1/clusters', { key: apiKey, signal: controller.signal }).then(
      (r) => setClusters((c) => c ?? r.clusters),
      (e: unknown) => {
        if (!controller.signal.aborted) setError(e);
      },
    );
    const close = subscribeEvents(apiKey, (event, data) => {
      if (event !== 'clusters') return;
      setLive(true);
      setError(null);
      setClusters((data as { clusters: ClusterView[] }).clusters);
    });
    return () => {
      controller.abort();
      close();
    };
  }, [apiKey]);
  return { clusters, error, live };
}
