/**
 * `/services`: Docker's ServiceSpec in and Docker's Service out (service-spec.ts and
 * service-object.ts map them to and from tsswarm's one model); create, update, rollback and
 * remove are tsswarm's own operations (manager/api/service-ops.ts), so a service made either way
 * is the same service for both APIs.
 */
import type * as http from 'node:http';
import type { RegistryAuthMap } from '../../shared/api-types';
import type { ServiceSpec } from '../../shared/types';
import { InvalidArgumentError } from '../../shared/errors';
import { normalizeRegistryHost } from '../../shared/image-ref';
import { newId } from '../../shared/ids';
import { readJson } from '../api/http-util';
import type { ApiContext } from '../api/server';
import { createService, findService, removeService, rollbackService, updateService } from '../api/service-ops';
import { serviceView } from '../api/views';
import { checkFilters, parseFilters, serviceMatches } from './filters';
import { readCluster, specRefs } from './refs';
import { Reply } from './reply';
import type { DockerRoute } from './server';
import { dockerService } from './service-object';
import { fromDockerServiceSpec, withDockerDefaults } from './service-spec';

/**
 * `X-Registry-Auth` (base64url JSON of Docker's AuthConfig), sent by `--with-registry-auth`: the
 * credential for the image's registry, kept with the service as tsswarm's own flag keeps it.
 */
export function registryAuthHeader(req: http.IncomingMessage): RegistryAuthMap | null {
  const h = req.headers['x-registry-auth'];
  if (typeof h !== 'string' || h === '') return null;
  let a: { username?: unknown; password?: unknown; serveraddress?: unknown };
  try {
    a = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as typeof a;
  } catch {
    throw new InvalidArgumentError('X-Registry-Auth is not base64url-encoded JSON');
  }
  if (typeof a !== 'object' || a === null || typeof a.username !== 'string' || a.username === '' || typeof a.password !== 'string') return null;
  const server = typeof a.serveraddress === 'string' && a.serveraddress !== '' ? a.serveraddress : 'docker.io';
  // `https://index.docker.io/v1/` and `host:port` alike: the host.
  const host = server.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
  return { [normalizeRegistryHost(host)]: { username: a.username, password: a.password } };
}

async function list(ctx: ApiContext, q: URLSearchParams) {
  const f = parseFilters(q.get('filters'));
  checkFilters('service', f);
  const withStatus = q.get('status') === 'true' || q.get('status') === '1';
  const r = await readCluster(ctx.store, { tasks: withStatus, nodes: withStatus });
  const refs = specRefs(r.networks);
  const tasks = r.tasks.map((t) => t.value);
  const nodes = r.nodes.map((n) => n.value);
  return r.services
    .map((s) => {
      const v = withStatus ? serviceView(s.value, tasks, nodes) : null;
      return dockerService(s, { refs, status: v ? { running: v.running, desired: v.desired, completed: 0 } : null });
    })
    .filter((s) => serviceMatches(s, f));
}

function versionOf(q: URLSearchParams): { modRevision: string } | null {
  const v = q.get('version');
  if (v === null || v === '') return null;
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`invalid service version ${JSON.stringify(v)}`);
  return { modRevision: v };
}

export const dockerServiceRoutes: DockerRoute[] = [
  { method: 'GET', pattern: /^\/services$/, handler: (ctx, _req, _p, q) => list(ctx, q) },
  {
    method: 'GET',
    pattern: /^\/services\/([^/]+)$/,
    handler: async (ctx, _req, [ref], q) => {
      const s = await findService(ctx.store, ref!);
      const r = await readCluster(ctx.store);
      const out = dockerService(s, { refs: specRefs(r.networks), status: null });
      return q.get('insertDefaults') === 'true' || q.get('insertDefaults') === '1' ? { ...out, Spec: withDockerDefaults(out.Spec) } : out;
    },
  },
  {
    method: 'POST',
    pattern: /^\/services\/create$/,
    handler: async (ctx, req) => {
      const auth = registryAuthHeader(req);
      const body = await readJson(req);
      const r = await readCluster(ctx.store);
      const given = fromDockerServiceSpec(body, specRefs(r.networks));
      // Docker's daemon names a service created without a name; so does tsswarm, more plainly.
      const spec = given.name === '' ? { ...given, name: `service-${newId().slice(0, 8)}` } : given;
      const res = await createService(ctx, { spec, resolveImage: 'always', ...(auth ? { registryAuth: auth, withRegistryAuth: true } : {}) });
      return new Reply(201, { ID: res.id, Warnings: res.warnings.length ? res.warnings : null });
    },
  },
  {
    method: 'POST',
    pattern: /^\/services\/([^/]+)\/update$/,
    handler: async (ctx, req, [ref], q) => {
      const expect = versionOf(q);
      const auth = registryAuthHeader(req);
      const body = await readJson(req);
      const cur = await findService(ctx.store, ref!);
      if (q.get('rollback') === 'previous') {
        const res = await rollbackService(ctx, ref!, expect);
        return { Warnings: res.warnings.length ? res.warnings : null };
      }
      const refs = specRefs((await readCluster(ctx.store)).networks);
      // Parsed against the stored spec: what a Docker client cannot say stays as it was (service-spec.ts).
      const specFrom = (stored: ServiceSpec) => fromDockerServiceSpec(body, refs, stored);
      // registryAuthFrom=spec|previous-spec: the credential kept with the service stays when no new one comes.
      const res = await updateService(ctx, ref!, { spec: specFrom(cur.value.spec), resolveImage: 'changed', ...(auth ? { registryAuth: auth, withRegistryAuth: true } : {}) }, { expect, specFrom });
      return { Warnings: res.warnings.length ? res.warnings : null };
    },
  },
  {
    method: 'DELETE',
    pattern: /^\/services\/([^/]+)$/,
    handler: async (ctx, _req, [ref]) => {
      await removeService(ctx, ref!);
      return new Reply(200, undefined);
    },
  },
];
