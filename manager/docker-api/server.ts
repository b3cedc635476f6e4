/**
 * The Docker Engine API on a unix socket of every manager (`<data root>/docker.sock`, root-only
 * like the tsswarm API's), so the unmodified `docker` command line and the tools built on the
 * Engine API can talk to the cluster (issue 14). This first part answers what every client asks
 * first (`/_ping`, `/version`); anything else is Docker's 404 body for now, `{"message": ...}`.
 */
import * as http from 'node:http';
import { API_VERSION, pingHeaders, unversioned, versionInfo } from './system';

export interface DockerApiContext {
  /** tsswarm's version, shown as the engine's. */
  version: string;
  /** `active/manager` on a manager. */
  swarm: () => string;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const data = Buffer.from(JSON.stringify(body) + '\n');
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': data.length, 'API-Version': API_VERSION, Ostype: 'linux' });
  res.end(data);
}

export function dockerApiHandler(ctx: DockerApiContext): http.RequestListener {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://docker');
    const method = req.method ?? 'GET';
    if (url.pathname === '/_ping' || /^\/v\d+\.\d+\/_ping$/.test(url.pathname)) {
      if (method !== 'GET' && method !== 'HEAD') return sendJson(res, 405, { message: `${method} is not allowed on /_ping` });
      res.writeHead(200, { ...pingHeaders(ctx.swarm()), 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': 2 });
      res.end(method === 'HEAD' ? undefined : 'OK');
      return;
    }
    const v = unversioned(url.pathname);
    if ('error' in v) return sendJson(res, 400, { message: v.error });
    if (method === 'GET' && v.path === '/version') return sendJson(res, 200, versionInfo(ctx.version));
    sendJson(res, 404, { message: 'page not found' });
  };
}
