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
import { dockerLogRoutes } from './log-routes';
import { dockerEventRoutes } from './event-routes';

/** The API context of one request: `localNodeId` is the node the caller's host is; `control` whether it may change the cluster. */
export interface DockerContext extends ApiContext {
  control: boolean;
}

export interface DockerRoute {
  method: string;
  pattern: RegExp;
  /** A value is sent as JSON with 200; a Reply with its status; STREAMED when the route wrote `res` itself. */
  handler: (ctx: DockerContext, req: http.IncomingMessage, params: string[], query: URLSearchParams, res: http.ServerResponse) => Promise<unknown>;
}

/**
 * Who is asking: on a manager's own socket, root of that host (everything; the local node is the
 * manager's); through a worker's socket (its agent relays it with the node's certificate), root of
 * that worker: it reads the cluster and acts on its own node's containers and volumes, but cannot
 * change the cluster, as on Docker a worker cannot (and its certificate is all a stolen worker
 * would hold). A string refuses the request.
 */
export type DockerAccess = { localNodeId: string | null; control: boolean } | string;

/** The endpoints a worker's socket may write to: its own node's containers, execs and volumes. */
const NODE_SCOPED = /^\/(containers|exec|volumes)(\/|$)/;

export const WORKER_REFUSAL = 'This node is a worker: its Docker socket reads the cluster and runs its own containers, execs and volumes, but changes to the cluster are made on a manager (or promote this node with tsswarm node promote)';

/** Docker's paths never start with /v1/ or /v2 (its versions have a dot): on one listener both APIs can be told apart. */
export function isDockerPath(pathname: string): boolean {
  return !(pathname.startsWith('/v1/') || pathname === '/v2' || pathname.startsWith('/v2/'));
}

let routes: DockerRoute[] | null = null;

/** Routes are added to this list as the API grows; each file holds one kind of object. */
function allRoutes(): DockerRoute[] {
  routes ??= [...systemRoutes, ...dockerNodeRoutes, ...dockerServiceRoutes, ...dockerTaskRoutes, ...dockerNetworkRoutes, ...dockerBlobRoutes, ...distributionRoutes, ...dockerLogRoutes, ...dockerEventRoutes];
  return routes;
}

export function dockerApiHandler(api: ApiContext, access: (req: http.IncomingMessage) => DockerAccess = () => ({ localNodeId: api.localNodeId, control: true })): http.RequestListener {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://docker');
    const method = req.method ?? 'GET';
    const v = unversioned(url.pathname);
    if ('error' in v) return sendDocker(res, 400, { message: v.error });
    const who = access(req);
    if (typeof who === 'string') return sendDocker(res, 403, { message: who });
    if (v.path === '/_ping') {
      if (method !== 'GET' && method !== 'HEAD') return sendDocker(res, 405, { message: `${method} is not allowed on /_ping` });
      res.writeHead(200, { ...pingHeaders(who.control ? 'active/manager' : 'active/worker'), 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': 2 });
      res.end(method === 'HEAD' ? undefined : 'OK');
      return;
    }
    if (!who.control && method !== 'GET' && method !== 'HEAD' && !NODE_SCOPED.test(v.path)) return sendDocker(res, 503, { message: WORKER_REFUSAL });
    const ctx: DockerContext = { ...api, localNodeId: who.localNodeId, control: who.control };
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
