/** `/networks`: tsswarm's overlay networks in Docker's shape; create and remove as tsswarm's own. */
import { Keys } from '../../shared/keys';
import type { Network, Service } from '../../shared/types';
import { readJson } from '../api/http-util';
import { createNetwork, removeNetwork } from '../api/network-ops';
import { findNetwork, networkUsers } from '../api/networks';
import { checkFilters, networkMatches, parseFilters } from './filters';
import { dockerNetwork, networkSpecFromDocker } from './objects';
import { Reply } from './reply';
import type { DockerRoute } from './server';

export const dockerNetworkRoutes: DockerRoute[] = [
  {
    method: 'GET',
    pattern: /^\/networks$/,
    handler: async (ctx, _req, _p, q) => {
      const f = parseFilters(q.get('filters'));
      checkFilters('network', f);
      const [networks, services] = await Promise.all([ctx.store.list<Network>(Keys.networks), ctx.store.list<Service>(Keys.services)]);
      // `dangling`: no service on it.
      const byId = new Map(networks.map((n) => [n.value.id, n.value]));
      const all = services.map((s) => s.value);
      const inUse = (id: string) => networkUsers(byId.get(id)!, all).length > 0;
      return networks.map((n) => dockerNetwork(n)).filter((n) => networkMatches(n, f, { inUse }));
    },
  },
  {
    method: 'GET',
    pattern: /^\/networks\/([^/]+)$/,
    handler: async (ctx, _req, [ref]) => dockerNetwork(await findNetwork(ctx.store, ref!)),
  },
  {
    method: 'POST',
    pattern: /^\/networks\/create$/,
    handler: async (ctx, req) => {
      const net = await createNetwork(ctx.store, networkSpecFromDocker(await readJson(req)));
      return new Reply(201, { Id: net.id, Warning: '' });
    },
  },
  {
    method: 'DELETE',
    pattern: /^\/networks\/([^/]+)$/,
    handler: async (ctx, _req, [ref]) => {
      await removeNetwork(ctx.store, ref!, { stackOwned: true });
      return new Reply(204, undefined);
    },
  },
];
