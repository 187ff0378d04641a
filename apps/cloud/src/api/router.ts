import type { Context, Hono } from 'hono';
import { z } from 'zod';
import { IdlegridError } from '@idlegrid/domain';
import { errorBodySchema } from '@idlegrid/protocol';
import type { AppEnv } from './app-env.ts';

type Method = 'get' | 'post' | 'put' | 'delete';

/** One API route: its schemas validate requests and also produce the OpenAPI document. */
export interface RouteSpec<Q extends z.ZodType, P extends z.ZodType, B extends z.ZodType, R extends z.ZodType> {
  method: Method;
  /** OpenAPI-style path, e.g. /v1/devices/{id}. */
  path: string;
  summary: string;
  tag: string;
  auth: boolean;
  query?: Q;
  params?: P;
  body?: B;
  response: R;
  status?: 200 | 201;
}

export interface RouteInput<Q, P, B> {
  query: Q;
  params: P;
  body: B;
  c: Context<AppEnv>;
}

export interface AuthHook {
  (c: Context<AppEnv>): Promise<void>;
}

/** Registers routes on a Hono app and remembers their specs for the OpenAPI document. */
export class ApiRouter {
  readonly specs: Array<RouteSpec<z.ZodType, z.ZodType, z.ZodType, z.ZodType>> = [];
  private readonly matchers: Array<{ pattern: RegExp; method: string }> = [];

  constructor(
    private readonly app: Hono<AppEnv>,
    private readonly options: { maxBodyBytes: number; authenticate: AuthHook },
  ) {}

  add<Q extends z.ZodType = z.ZodUndefined, P extends z.ZodType = z.ZodUndefined, B extends z.ZodType = z.ZodUndefined, R extends z.ZodType = z.ZodType>(
    spec: RouteSpec<Q, P, B, R>,
    handler: (input: RouteInput<z.output<Q>, z.output<P>, z.output<B>>) => Promise<z.input<R>> | z.input<R>,
  ): void {
    this.specs.push(spec);
    const escaped = spec.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{\w+\}/g, '[^/]+');
    this.matchers.push({ pattern: new RegExp(`^${escaped}$`), method: spec.method.toUpperCase() });
    const honoPath = spec.path.replace(/\{(\w+)\}/g, ':$1');
    this.app.on(spec.method.toUpperCase(), honoPath, async (c) => {
      if (spec.auth) await this.options.authenticate(c);
      const query = spec.query ? parseWith(spec.query, collectQuery(c), 'query string') : undefined;
      const params = spec.params ? parseWith(spec.params, c.req.param(), 'path') : undefined;
      const body = spec.body ? parseWith(spec.body, await readJsonBody(c, this.options.maxBodyBytes), 'request body') : undefined;
      const result = await handler({ query, params, body, c } as RouteInput<z.output<Q>, z.output<P>, z.output<B>>);
      return c.json(result as object, spec.status ?? 200);
    });
  }

  /** The methods declared for a path (empty when no route has it): a request with another method gets 405 and these in Allow. */
  allowedMethods(path: string): string[] {
    const methods = this.matchers.filter((m) => m.pattern.test(path)).map((m) => m.method);
    return [...new Set(methods)];
  }
}

export function parseWith<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new IdlegridError('VALIDATION_FAILED', {
      where,
      issues: parsed.error.issues.map((i) => ({ path: i.path.join('.') || '(root)', message: i.message })),
    });
  }
  return parsed.data;
}

function collectQuery(c: Context<AppEnv>): Record<string, string | string[]> {
  const all = c.req.queries();
  const out: Record<string, string | string[]> = {};
  for (const [key, values] of Object.entries(all)) {
    out[key] = values.length === 1 ? (values[0] ?? '') : values;
  }
  return out;
}

async function readJsonBody(c: Context<AppEnv>, limit: number): Promise<unknown> {
  const declared = Number(c.req.header('content-length') ?? '0');
  if (declared > limit) throw new IdlegridError('PAYLOAD_TOO_LARGE', { limitBytes: limit });
  const text = await c.req.text();
  if (Buffer.byteLength(text) > limit) throw new IdlegridError('PAYLOAD_TOO_LARGE', { limitBytes: limit });
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new IdlegridError('MALFORMED_JSON', { where: 'request body' });
  }
}

/** OpenAPI 3.1 document generated from the registered route specs. */
export function buildOpenApi(specs: ApiRouter['specs'], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const errorSchema = z.toJSONSchema(errorBodySchema);
  for (const spec of specs) {
    const parameters: unknown[] = [];
    for (const [location, schema] of [['query', spec.query], ['path', spec.params]] as const) {
      if (!schema) continue;
      const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
        properties?: Record<string, { description?: string }>;
        required?: string[];
      };
      for (const [name, prop] of Object.entries(json.properties ?? {})) {
        parameters.push({
          name,
          in: location,
          required: location === 'path' || (json.required ?? []).includes(name),
          schema: prop,
          ...(prop.description ? { description: prop.description } : {}),
        });
      }
    }
    const operation: Record<string, unknown> = {
      summary: spec.summary,
      tags: [spec.tag],
      parameters,
      responses: {
        [String(spec.status ?? 200)]: {
          description: 'OK',
          content: { 'application/json': { schema: z.toJSONSchema(spec.response, { io: 'output', unrepresentable: 'any' }) } },
        },
        '4XX': { description: 'Coded client error', content: { 'application/json': { schema: errorSchema } } },
        '5XX': { description: 'Coded server error', content: { 'application/json': { schema: errorSchema } } },
      },
    };
    if (spec.body) {
      operation['requestBody'] = {
        // An empty body reads as {}: the body is only required when {} does not validate.
        required: !spec.body.safeParse({}).success,
        content: { 'application/json': { schema: z.toJSONSchema(spec.body, { io: 'input', unrepresentable: 'any' }) } },
      };
    }
    if (spec.auth) operation['security'] = [{ apiKey: [] }];
    paths[spec.path] = { ...(paths[spec.path] ?? {}), [spec.method]: operation };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'idlegrid API', version, description: 'Decentralized GPU cloud: supply, clusters, settlement.' },
    components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
    paths,
  };
}
