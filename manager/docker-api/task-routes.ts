/** `/tasks`: the tasks of the cluster in Docker's Task shape, with Docker's filters. */
import { isCurrent } from '../../shared/service-versions';
import type { Service } from '../../shared/types';
import { findTask } from '../api/find-task';
import type { ApiContext } from '../api/server';
import { checkFilters, parseFilters, taskMatches } from './filters';
import { dockerNetwork } from './objects';
import { readCluster, specRefs, type ClusterRead } from './refs';
import type { DockerRoute } from './server';
import { dockerTask } from './service-object';

function converter(r: ClusterRead) {
  const refs = specRefs(r.networks);
  const services = new Map(r.services.map((s) => [s.value.id, s.value]));
  const networks = new Map(r.networks.map((n) => [n.value.id, n]));
  const network = (id: string) => {
    const n = networks.get(id);
    return n ? dockerNetwork(n) : { ID: id };
  };
  return { services, convert: (t: ClusterRead['tasks'][number]) => dockerTask(t, { refs, service: services.get(t.value.serviceId), network }) };
}

async function list(ctx: ApiContext, q: URLSearchParams) {
  const f = parseFilters(q.get('filters'));
  checkFilters('task', f);
  const r = await readCluster(ctx.store, { tasks: true, nodes: true });
  const { services, convert } = converter(r);
  const tasks = new Map(r.tasks.map((t) => [t.value.id, t.value]));
  const hostnames = new Map(r.nodes.map((n) => [n.value.id, n.value.hostname]));
  const service = (id: string): Service | undefined => services.get(id);
  const o = {
    serviceName: (id: string) => service(id)?.spec.name ?? null,
    serviceLabels: (id: string) => service(id)?.spec.labels ?? {},
    nodeHostname: (id: string) => hostnames.get(id) ?? null,
    upToDate: (id: string) => {
      const t = tasks.get(id);
      const s = t ? service(t.serviceId) : undefined;
      return t !== undefined && s !== undefined && isCurrent(t, s);
    },
  };
  return r.tasks.map(convert).filter((t) => taskMatches(t, f, o));
}

export const dockerTaskRoutes: DockerRoute[] = [
  { method: 'GET', pattern: /^\/tasks$/, handler: (ctx, _req, _p, q) => list(ctx, q) },
  {
    method: 'GET',
    pattern: /^\/tasks\/([^/]+)$/,
    handler: async (ctx, _req, [ref]) => {
      const t = await findTask(ctx.store, ref!);
      return converter(await readCluster(ctx.store)).convert(t);
    },
  },
];
