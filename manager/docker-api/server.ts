/**
 * The Docker Engine API (swarm part) on a unix socket of every manager (`<data root>/docker.sock`,
 * root-only like the tsswarm API's), so the unmodified `docker` command line and the tools built
 * on the Engine API work against the cluster (issue 14). Paths are versioned as Docker's
 * (`/v1.41/services`, or unversioned); every route reads and writes the same store and service
 * model as tsswarm's own API (manager/api/), through the same operations.
 */
import type * as http from 'node:http';
import { NotFoundError } from '../../shared/errors';
import type { ApiContext } from '../api/server';
import { pingHeaders, unversioned } from './system';
import { Reply, sendDocker, sendDockerError, STREAMED } from './reply';
import { systemRoutes } from './system-routes';
import { dockerNodeRoutes } from './node-routes';
import { dockerServiceRoutes } from './service-routes';
import { dockerTaskRoutes } from './task-routes';
import { dockerNetworkRoutes } from './network-routes';
import { dockerBlobRoutes } from './blob-routes';
import { distributionRoutes } from './distribution-route';

export interface DockerRoute {
  method: string;
  pattern: RegExp;
  /** A value is sent as JSON with 200; a Reply with its status; STREAMED when the route wrote `res` itself. */
  handler: (ctx: ApiContext, req: http.IncomingMessage, params: string[], query: URLSearchParams, res: http.ServerResponse) => Promise<unknown>;
}

let routes: DockerRoute[] | null = null;

/** Routes are added to this list as the API grows; each file holds one kind of object. */
function allRoutes(): DockerRoute[] {
  routes ??= [...systemRoutes, ...dockerNodeRoutes, ...dockerServiceRoutes, ...dockerTaskRoutes, ...dockerNetworkRoutes, ...dockerBlobRoutes, ...distributionRoutes];
  return routes;
}

export function dockerApiHandler(ctx: ApiContext): http.RequestListener {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://docker');
    const method = req.method ?? 'GET';
    const v = unversioned(url.pathname);
    if ('error' in v) return sendDocker(res, 400, { message: v.error });
    if (v.path === '/_ping') {
      if (method !== 'GET' && method !== 'HEAD') return sendDocker(res, 405, { message: `${method} is not allowed on /_ping` });
      res.writeHead(200, { ...pingHeaders('active/manager'), 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': 2 });
      res.end(method === 'HEAD' ? undefined : 'OK');
      return;
    }
    void (async () => {
      try {
        for (const r of allRoutes()) {
          if (r.method !== method) continue;
          const m = r.pattern.exec(v.path);
          if (!m) continue;
          const out = await r.handler(ctx, req, m.slice(1).map((p) => decodeURIComponent(p)), url.searchParams, res);
          if (out === STREAMED) return;
          if (out instanceof Reply) return sendDocker(res, out.status, out.body);
          return sendDocker(res, 200, out);
        }
        throw new NotFoundError('page not found');
      } catch (e) {
        if (!(e instanceof Error && 'code' in e)) ctx.log.error(`docker api ${method} ${v.path}: ${(e as Error)?.stack ?? String(e)}`);
        if (res.headersSent) res.end();
        else sendDockerError(res, e);
      }
    })();
  };
}
