/**
 * `/v1/volumes`: the local volumes of every node (Swarm's volumes are per node). Listing reads
 * what the agents reported; create, remove and prune are requests through the store
 * (VolumeRequest) that the manager holding the node's session hands to its agent, so they work
 * from any manager. Each waits for the agent's answer and reports its error as it is.
 */
import type { VolumeCreateRequest, VolumeView } from '../../shared/api-types';
import { InvalidArgumentError, NotFoundError, TsswarmError } from '../../shared/errors';
import { newId } from '../../shared/ids';
import { Keys } from '../../shared/keys';
import type { ClusterNode, NodeVolumes, VolumeRequest } from '../../shared/types';
import { SCHEMA_VERSION } from '../../shared/types';
import type { Store, Versioned } from '../store/store';
import { findNode } from './nodes';
import { readJson } from './http-util';
import type { Route } from './server';

const ANSWER_TIMEOUT_MS = 15_000;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]+$/;

/** What a node's agent answered: an error it gave (in use, not found, a driver it lacks). */
export class VolumeCommandError extends TsswarmError {
  readonly code = 'VOLUME_COMMAND_FAILED';
  override readonly status = 409;
}

async function nodeVolumes(store: Store): Promise<{ views: VolumeView[]; nodes: Versioned<ClusterNode>[] }> {
  const [records, nodes] = await Promise.all([store.list<NodeVolumes>(Keys.nodeVolumes), store.list<ClusterNode>(Keys.nodes)]);
  const byId = new Map(nodes.map((n) => [n.value.id, n.value]));
  const views: VolumeView[] = [];
  for (const r of records) {
    const node = byId.get(r.value.nodeId);
    if (!node) continue;
    for (const v of r.value.volumes) views.push({ ...v, node: node.hostname, nodeId: node.id });
  }
  views.sort((a, b) => a.name.localeCompare(b.name) || a.node.localeCompare(b.node));
  return { views, nodes };
}

/** Writes the request, waits for its answer, removes it (volumes, and `image prune` on a node). */
export async function askNode(store: Store, node: ClusterNode, req: Omit<VolumeRequest, 'v' | 'id' | 'nodeId' | 'createdAt' | 'result'>): Promise<{ removed: string[] }> {
  if (node.status.state !== 'ready') throw new VolumeCommandError(`node ${node.hostname} is ${node.status.state}`);
  const full: VolumeRequest = { v: SCHEMA_VERSION, id: newId(), nodeId: node.id, createdAt: new Date().toISOString(), result: null, ...req };
  const key = Keys.volumeRequest(full.id);
  await store.commit([{ put: key, value: full, guard: { absent: true } }]);
  try {
    const deadline = Date.now() + ANSWER_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const cur = await store.get<VolumeRequest>(key);
      const result = cur?.value.result;
      if (result) {
        if (result.error) throw new VolumeCommandError(`node ${node.hostname}: ${result.error}`);
        return { removed: result.removed };
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new VolumeCommandError(`node ${node.hostname} did not answer within ${ANSWER_TIMEOUT_MS / 1000} s`);
  } finally {
    await store.commit([{ del: key, guard: null }]).catch(() => undefined);
  }
}

function flag(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v === '1' || v === 'true';
}

export const volumeRoutes: Route[] = [
  {
    method: 'GET',
    pattern: /^\/v1\/volumes$/,
    handler: async (ctx): Promise<VolumeView[]> => (await nodeVolumes(ctx.store)).views,
  },
  {
    method: 'GET',
    pattern: /^\/v1\/volumes\/([^/]+)$/,
    handler: async (ctx, _req, [name]): Promise<VolumeView[]> => {
      const found = (await nodeVolumes(ctx.store)).views.filter((v) => v.name === name);
      if (found.length === 0) throw new NotFoundError(`no such volume: ${name}`);
      return found;
    },
  },
  {
    method: 'POST',
    pattern: /^\/v1\/volumes$/,
    handler: async (ctx, req): Promise<VolumeView[]> => {
      const b = (await readJson(req)) as VolumeCreateRequest | null;
      if (!b || typeof b.name !== 'string' || !NAME.test(b.name)) throw new InvalidArgumentError(`invalid volume name ${JSON.stringify(b?.name)}: two or more of letters, digits and _ . - , not starting with punctuation`);
      const nodes = await ctx.store.list<ClusterNode>(Keys.nodes);
      const ref = b.node ?? ctx.localNodeId;
      if (ref === null) throw new InvalidArgumentError('this manager has no node of its own: name one with --node');
      const node = findNode(nodes, ref).value;
      await askNode(ctx.store, node, { op: 'create', name: b.name, driver: b.driver || 'local', options: b.options ?? {}, labels: b.labels ?? {}, force: false, all: false });
      return (await nodeVolumes(ctx.store)).views.filter((v) => v.name === b.name && v.nodeId === node.id);
    },
  },
  {
    method: 'DELETE',
    pattern: /^\/v1\/volumes\/([^/]+)$/,
    handler: async (ctx, _req, [name], q) => {
      const { views, nodes } = await nodeVolumes(ctx.store);
      const nodeRef = q.get('node');
      const targets = nodeRef !== null ? [findNode(nodes, nodeRef).value] : nodes.map((n) => n.value).filter((n) => views.some((v) => v.name === name && v.nodeId === n.id));
      const force = flag(q, 'force');
      if (targets.length === 0) {
        if (force) return { removed: [] };
        throw new NotFoundError(`no such volume: ${name}`);
      }
      // Every node is asked, so one refusal does not leave the rest untried; the errors are one line.
      const results = await Promise.allSettled(targets.map((n) => askNode(ctx.store, n, { op: 'remove', name: name!, driver: '', options: {}, labels: {}, force, all: false })));
      const errors = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
      if (errors.length > 0) throw new VolumeCommandError(errors.join('; '));
      return { removed: targets.map((n) => n.hostname) };
    },
  },
  {
    method: 'POST',
    pattern: /^\/v1\/volumes\/prune$/,
    handler: async (ctx, _req, _p, q) => {
      const nodes = (await ctx.store.list<ClusterNode>(Keys.nodes)).map((n) => n.value).filter((n) => n.status.state === 'ready');
      const all = flag(q, 'all');
      const results = await Promise.allSettled(nodes.map((n) => askNode(ctx.store, n, { op: 'prune', name: '', driver: '', options: {}, labels: {}, force: false, all })));
      const removed: { node: string; name: string }[] = [];
      const errors: string[] = [];
      results.forEach((r, i) => {
        if (r.status === 'fulfilled') for (const name of r.value.removed) removed.push({ node: nodes[i]!.hostname, name });
        else errors.push((r.reason as Error).message);
      });
      if (errors.length > 0 && removed.length === 0) throw new VolumeCommandError(errors.join('; '));
      return { removed, errors };
    },
  },
];
