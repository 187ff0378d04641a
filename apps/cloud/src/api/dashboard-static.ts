import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Hono } from 'hono';
import type { AppEnv } from './app-env.ts';

/** Where `npm run build -w @idlegrid/dashboard` writes the dashboard (apps/dashboard/dist). */
export function defaultDashboardDir(): string {
  return fileURLToPath(new URL('../../../dashboard/dist', import.meta.url));
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** Paths that belong to the API or operations, never to the dashboard. */
const API_PREFIXES = ['/v1/', '/healthz', '/metrics'];

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>idlegrid</title></head>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;line-height:1.5">
<h1>idlegrid control plane</h1>
<p>The API is running (<a href="/v1/openapi.json">/v1/openapi.json</a>, <a href="/healthz">/healthz</a>),
but the web dashboard has not been built.</p>
<p>Build it from the repository root with <code>npm run build -w @idlegrid/dashboard</code>
(scripts/run.sh and scripts/test.sh do this), then reload this page.</p>
</body></html>`;

async function fileAt(path: string): Promise<Buffer | null> {
  try {
    return (await stat(path)).isFile() ? await readFile(path) : null;
  } catch {
    return null;
  }
}

/** The path percent-decoded; a malformed escape (`/%zz`) is kept as it is (it names no file) instead of throwing. */
function decodedPath(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * Serves the built dashboard at `/` with an SPA fallback (any GET that is not a file or an API path
 * answers index.html). Without a build it answers a short page that says how to build it.
 * API paths are passed on (a route registered later still answers; else the JSON 404).
 */
export function serveDashboard(app: Hono<AppEnv>, dir: string = defaultDashboardDir()): void {
  const root = normalize(dir);
  app.get('*', async (c, next) => {
    const path = decodedPath(c.req.path);
    // API paths fall through to routes registered later, then to the JSON 404.
    if (API_PREFIXES.some((p) => path === p.replace(/\/$/, '') || path.startsWith(p))) return next();
    const target = normalize(join(root, path));
    const inside = target === root || target.startsWith(root + sep);
    const asset = inside && path !== '/' ? await fileAt(target) : null;
    if (asset) {
      const immutable = path.startsWith('/assets/');
      return c.body(new Uint8Array(asset), 200, {
        'content-type': TYPES[extname(target)] ?? 'application/octet-stream',
        'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      });
    }
    const index = await fileAt(join(root, 'index.html'));
    if (!index) return c.html(NOT_BUILT, 200, { 'cache-control': 'no-cache' });
    return c.body(new Uint8Array(index), 200, { 'content-type': TYPES['.html'] ?? 'text/html', 'cache-control': 'no-cache' });
  });
}
