/** An API error as the control plane writes it: `{"error":{"code","message","details"}}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

interface ErrorBody {
  error?: { code?: string; message?: string; details?: Record<string, unknown> };
}

/** JSON over fetch, same origin; `key` adds `Authorization: Bearer`. */
export async function request<T>(method: string, path: string, o: { key?: string | null; body?: unknown; signal?: AbortSignal } = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: { ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}), ...(o.key ? { authorization: `Bearer ${o.key}` } : {}) },
      ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(0, 'NETWORK', 'The control plane cannot be reached. Is it running?');
  }
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = { raw: text };
  }
  if (!res.ok) {
    const e = (body as ErrorBody | null)?.error;
    throw new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? (text.slice(0, 200) || res.statusText), e?.details ?? {});
  }
  return body as T;
}

/** True for the answer of an endpoint this control plane does not serve (yet). */
export function isMissingEndpoint(error: unknown): boolean {
  return error instanceof ApiError && error.status === 404 && error.code === 'ROUTE_NOT_FOUND';
}

export type EventHandler = (event: string, data: unknown) => void;

/**
 * Reads GET /v1/events/stream (server-sent events) with fetch, so it can carry the API key;
 * reconnects after a second when the stream ends. Returns a function that closes it.
 */
export function subscribeEvents(key: string | null, onEvent: EventHandler): () => void {
  const controller = new AbortController();
  const run = async () => {
    while (!controller.signal.aborted) {
      try {
        const res = await fetch('/v1/events/stream', { headers: key ? { authorization: `Bearer ${key}` } : {}, signal: controller.signal });
        if (!res.ok || !res.body) throw new Error(`event stream: HTTP ${res.status}`);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let cut: number;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            let event = 'message';
            let data = '';
            for (const line of block.split('\n')) {
              if (line.startsWith('event:')) event = line.slice(6).trim();
              else if (line.startsWith('data:')) data += line.slice(5).trim();
            }
            if (data) onEvent(event, JSON.parse(data));
          }
        }
      } catch {
        // Closed or unreachable: try again shortly unless the page closed it.
      }
      if (!controller.signal.aborted) await new Promise((r) => setTimeout(r, 1000));
    }
  };
  void run();
  return () => controller.abort();
}

let openApiPaths: Promise<Set<string>> | null = null;

/**
 * Whether this control plane serves `template` (an OpenAPI path such as /v1/devices/{id}), from
 * GET /v1/openapi.json: pages ask before calling endpoints that other parts add later, so a
 * missing one is an empty state rather than a 404 in the console.
 */
export async function serves(template: string): Promise<boolean> {
  openApiPaths ??= request<{ paths?: Record<string, unknown> }>('GET', '/v1/openapi.json').then(
    (doc) => new Set(Object.keys(doc.paths ?? {})),
    () => {
      openApiPaths = null;
      return new Set<string>();
    },
  );
  return (await openApiPaths).has(template);
}

/** GET `path` if the control plane serves `template`, else null. */
export async function getIfServed<T>(template: string, path: string, signal: AbortSignal): Promise<T | null> {
  if (!(await serves(template))) return null;
  try {
    return await request<T>('GET', path, { signal });
  } catch (e) {
    if (isMissingEndpoint(e)) return null;
    throw e;
  }
}
