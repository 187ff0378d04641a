/**
 * Ray Serve's HTTP ingress on a lease's head: where it listens by default.
 *
 * Ray 2.60 reads the default host from `RAY_SERVE_DEFAULT_HTTP_HOST`
 * (ray/serve/_private/constants.py: `DEFAULT_HTTP_HOST = os.environ.get(...)`), but the
 * default port is a plain constant (`DEFAULT_HTTP_PORT = 8000`) with no environment
 * variable. So the head's nodes get a `sitecustomize.py` (on PYTHONPATH) that sets that
 * constant from `IDLEGRID_SERVE_HTTP_PORT` when Serve's constants module is imported:
 * `serve.run(app)` in a buyer's job then listens on `<node IP>:<ports.serveHttp>`, the
 * address the agent reports as `serveUrl`. Explicit `http_options` still win.
 */

/** Environment variable the hook reads. */
export const SERVE_PORT_ENV = 'IDLEGRID_SERVE_HTTP_PORT';

export const SERVE_DEFAULTS_SITECUSTOMIZE = `# Written by the idlegrid agent: Ray Serve's default HTTP port for this lease's head.
# Ray 2.60 has RAY_SERVE_DEFAULT_HTTP_HOST but no variable for the port (DEFAULT_HTTP_PORT = 8000).
import os as _os
import sys as _sys


def _idlegrid_serve_port():
    port = _os.environ.get("${SERVE_PORT_ENV}", "")
    if not port.isdigit():
        return
    import importlib.abc

    target = "ray.serve._private.constants"

    class _Loader(importlib.abc.Loader):
        def __init__(self, inner):
            self._inner = inner

        def create_module(self, spec):
            return self._inner.create_module(spec)

        def exec_module(self, module):
            self._inner.exec_module(module)
            module.DEFAULT_HTTP_PORT = int(port)

        def __getattr__(self, name):
            return getattr(self._inner, name)

    class _Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target_module=None):
            if name != target:
                return None
            for finder in _sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(name, path, target_module)
                if spec is not None:
                    if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                        spec.loader = _Loader(spec.loader)
                    return spec
            return None

    _sys.meta_path.insert(0, _Finder())


_idlegrid_serve_port()
del _idlegrid_serve_port
`;

/** The head's extra environment for Serve: host and port of the ingress, fallback ports inside the block. */
export function serveEnv(host: string, ports: { base: number; serveHttp: number }, pythonPath: string): Record<string, string> {
  return {
    PYTHONPATH: pythonPath,
    RAY_SERVE_DEFAULT_HTTP_HOST: host,
    [SERVE_PORT_ENV]: String(ports.serveHttp),
    // Serve's fallback proxy (native-proxy mode) would take 8500/9500: keep it in the block's reserved range.
    RAY_SERVE_FALLBACK_PROXY_HTTP_PORT: String(ports.base + 10),
    RAY_SERVE_FALLBACK_PROXY_GRPC_PORT: String(ports.base + 11),
  };
}
