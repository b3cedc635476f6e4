/** `/nodes`: Docker's Node shape; updates are a whole NodeSpec, applied as tsswarm's node update. */
import { Keys } from '../../shared/keys';
import type { ClusterNode, ManagerRecord } from '../../shared/types';
import { packageVersion } from '../../shared/package-version';
import { currentLeader } from '../election/leader';
import { readJson } from '../api/http-util';
import { removeNode, updateNode } from '../api/node-ops';
import { findNode } from '../api/nodes';
import type { ApiContext } from '../api/server';
import { InvalidArgumentError } from '../../shared/errors';
import type { Versioned } from '../store/store';
import { checkFilters, nodeMatches, parseFilters } from './filters';
import { dockerNode, nodeUpdateFromDocker } from './objects';
import type { DockerRoute } from './server';

async function converter(ctx: ApiContext) {
  const [leader, managers] = await Promise.all([currentLeader(ctx.store).catch(() => null), ctx.store.list<ManagerRecord>(Keys.managers)]);
  const live = new Set(managers.flatMap((m) => (m.value.nodeId ? [m.value.nodeId] : [])));
  const addr = new Map(managers.flatMap((m) => (m.value.nodeId ? [[m.value.nodeId, m.value.dispatcher] as const] : [])));
  const o = { leaderNodeId: leader?.nodeId ?? null, liveManagerNodes: live, engineVersion: packageVersion(), managerAddr: (id: string) => addr.get(id) ?? null };
  return (n: Versioned<ClusterNode>) => dockerNode(n, o);
}

export const dockerNodeRoutes: DockerRoute[] = [
  {
    method: 'GET',
    pattern: /^\/nodes$/,
    handler: async (ctx, _req, _p, q) => {
      const f = parseFilters(q.get('filters'));
      checkFilters('node', f);
      const [nodes, convert] = await Promise.all([ctx.store.list<ClusterNode>(Keys.nodes), converter(ctx)]);
      return nodes.map(convert).filter((n) => nodeMatches(n, f));
    },
  },
  {
    method: 'GET',
    pattern: /^\/nodes\/([^/]+)$/,
    handler: async (ctx, _req, [ref]) => {
      const [nodes, convert] = await Promise.all([ctx.store.list<ClusterNode>(Keys.nodes), converter(ctx)]);
      return convert(findNode(nodes, ref!));
    },
  },
  {
    method: 'POST',
    pattern: /^\/nodes\/([^/]+)\/update$/,
    handler: async (ctx, req, [ref], q) => {
      const version = q.get('version');
      if (version !== null && !/^\d+$/.test(version)) throw new InvalidArgumentError(`invalid node version ${JSON.stringify(version)}`);
      const body = await readJson(req);
      await updateNode(ctx.store, ref!, (n) => nodeUpdateFromDocker(body, n.value), version);
      return undefined;
    },
  },
  {
    method: 'DELETE',
    pattern: /^\/nodes\/([^/]+)$/,
    handler: async (ctx, _req, [ref], q) => {
      await removeNode(ctx.store, ref!, q.get('force') === 'true' || q.get('force') === '1');
      return undefined;
    },
  },
];
