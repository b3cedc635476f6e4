/**
 * The REST API the CLI talks to, on a root-only unix socket. Each route reads
 * or writes the store; none calls a reconciler.
 */
import * as http from 'node:http';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Cluster, ClusterNode, Network, NetworkSpec, Service, ServiceSpec, Stack, Task } from '../../shared/types';
import { DEFAULT_IMAGE_GC_PERCENT } from '../../shared/types';
import { rotateJoinToken } from '../ca/join-token';
import { DEFAULT_CERT_EXPIRY_MS, MIN_CERT_EXPIRY_MS } from '../ca/ca-record';
import type { NodeCa } from '../ca/node-ca';
import type { DataKey } from '../keys/data-key';
import { currentUnlockKey, rotateUnlockKey } from '../keys/unlock-key';
import { rotationStatus } from '../ca/rotation';
import { newId } from '../../shared/ids';
import type { CaView, ClientCertRequest, ClusterUpdateRequest, DeployRequest, LoginRequest, InfoView, NetworkCreateRequest, NodeUpdateRequest, ScaleRequest, StackView } from '../../shared/api-types';
import { Keys } from '../../shared/keys';
import { ConflictError, InvalidArgumentError, NotFoundError, ServiceNotFoundError, StackNotFoundError } from '../../shared/errors';
import { normalizeImageRef, normalizeRegistryHost } from '../../shared/image-ref';
import type { Logger } from '../../shared/log';
import type { Store, WriteOp } from '../store/store';
import type { ImageStore } from '../registry/store';
import type { ImageReplicator } from '../registry/replicate';
import { readJson, sendError, sendJson } from './http-util';
import { networkView, nodeView, serviceView, sortTasks, taskView } from './views';
import { findNetwork } from './networks';
import { createNetwork, removeNetwork } from './network-ops';
import { deployStack, removeStack, validateSpec } from './deploy';
import { currentLeader } from '../election/leader';
import { liveManagers } from '../election/presence';
import { findNode } from './nodes';
import { removeNode, updateNode } from './node-ops';
import { planClusterUpdate } from './cluster';
import { blobRoutes } from './blob-routes';
import { volumeRoutes } from './volume-routes';
import { authPolicy, checkImage, findService, resolveMode, serviceRoutes } from './service-routes';
import { streamRoutes } from './stream-routes';
import { logRoutes } from './log-routes';
import { imageRoutes, imageStreamRoutes } from './image-routes';
import type { ImagePuller } from '../registry/puller';
import type { ImageResolver } from '../registry/resolve';
import { findTask } from './find-task';
import type { EventLog } from './events';
import { placementWarnings } from '../scheduler/warnings';
import { HISTORY_LIMIT } from '../orchestrator/reaper';
import type { StoreView } from '../store/view';
import type { TaskStreamHub } from '../dispatcher/task-streams';

export interface ApiContext {
  store: Store;
  images: ImageStore;
  /** Copies images between managers; deploy asks it for images imported elsewhere. */
  replicator: ImageReplicator;
  /** Pulls images from other registries into the cluster. */
  puller: ImagePuller;
  /** Pins a service's image tag to a digest (create, update, deploy). */
  resolver: ImageResolver;
  log: Logger;
  managerId: string;
  clusterId: string;
  isLeader: () => boolean;
  /** Node id of the agent on this host, when there is one. */
  localNodeId: string | null;
  /** Where agents reach this manager's dispatcher (`IP:PORT`), for join commands. */
  dispatcherAddr: string;
  ca: NodeCa;
  /** This manager's hold on the data key (autolock's unlock key is sealed under it). */
  keys: DataKey;
  /** What changed in the cluster, for `tsswarm events`. */
  events: EventLog;
  /** The manager's watch-fed view of the store. */
  view: StoreView;
  /** Logs and exec of tasks, from the agents that run them. */
  streams: TaskStreamHub;
  /** The cluster registry's `/v2/` (manager/registry/http.ts), answered on the API's sockets as well. */
  registry?: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<boolean>;
}

export type Handler = (ctx: ApiContext, req: http.IncomingMessage, params: string[], query: URLSearchParams) => Promise<unknown>;

export interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
}

/** A route that answers with a stream of JSON lines (events, logs) on `res` itself. */
export interface StreamRoute {
  method: string;
  pattern: RegExp;
  stream: (ctx: ApiContext, req: http.IncomingMessage, res: http.ServerResponse, params: string[], query: URLSearchParams) => Promise<void>;
}

const STACK_NAME = /^[a-z0-9][a-z0-9_-]*$/;

/** The body of a pause request: {"paused": true|false}. */
function pausedFlag(body: unknown): boolean {
  const p = (body as { paused?: unknown } | null)?.paused;
  if (typeof p !== 'boolean') throw new InvalidArgumentError('expected {"paused": true|false}');
  return p;
}

async function nodesMap(store: Store): Promise<Map<string, ClusterNode>> {
  return new Map((await store.list<ClusterNode>(Keys.nodes)).map((n) => [n.value.id, n.value]));
}

async function servicesMap(store: Store): Promise<Map<string, Service>> {
  return new Map((await store.list<Service>(Keys.services)).map((s) => [s.value.id, s.value]));
}

async function caView(store: Store): Promise<CaView> {
  const [status, cluster] = await Promise.all([rotationStatus(store), store.get<Cluster>(Keys.cluster)]);
  return { ...status, certExpiryMs: cluster?.value.certExpiryMs ?? DEFAULT_CERT_EXPIRY_MS };
}

const routes: Route[] = [
  {
    method: 'GET',
    pattern: /^\/v1\/info$/,
    handler: async (ctx): Promise<InfoView> => ({ clusterId: ctx.clusterId, managerId: ctx.managerId, leader: ctx.isLeader(), version: '0.1.0' }),
  },
  {
    method: 'GET',
    pattern: /^\/v1\/join-token\/([^/]+)$/,
    handler: async (ctx, _req, [role]) => {
      if (role !== 'worker' && role !== 'manager') throw new InvalidArgumentError(`unknown role ${role}: use worker or manager`);
      const cluster = await ctx.store.get<Cluster>(Keys.cluster);
      if (!cluster) throw new NotFoundError('the cluster is not initialised');
      const token = cluster.value.joinTokens[role];
      return { role, token, managerAddr: ctx.dispatcherAddr, command: `tsswarm join --token ${token} ${ctx.dispatcherAddr}` };
    },
  },
  {
    method: 'GET',
    pattern: /^\/v1\/unlock-key$/,
    handler: async (ctx) => ({ unlockKey: await currentUnlockKey(ctx.store, ctx.keys) }),
  },
  {
    method: 'POST',
    pattern: /^\/v1\/unlock-key\/rotate$/,
    handler: async (ctx) => ({ unlockKey: await rotateUnlockKey(ctx.store, ctx.keys) }),
  },
  {
    method: 'POST',
    pattern: /^\/v1\/unlock$/,
    handler: async () => {
      throw new InvalidArgumentError('this manager is not locked');
    },
  },
  {
    method: 'GET',
    pattern: /^\/v1\/ca$/,
    handler: (ctx) => caView(ctx.store),
  },
  {
    method: 'POST',
    pattern: /^\/v1\/ca\/rotate$/,
    handler: async (ctx) => {
      await ctx.ca.rotate();
      return caView(ctx.store);
    },
  },
  {
    method: 'POST',
    pattern: /^\/v1\/ca\/client-cert$/,
    handler: async (ctx, req) => {
      const body = (await readJson(req)) as ClientCertRequest | null;
      if (!body || typeof body.csrPem !== 'string') throw new InvalidArgumentError('expected {"csrPem": "...", "expiryMs": N}');
      if (body.expiryMs !== undefined && (!Number.isSafeInteger(body.expiryMs) || body.expiryMs < MIN_CERT_EXPIRY_MS)) throw new InvalidArgumentError(`expiry must be at least ${MIN_CERT_EXPIRY_MS / 1000}s`);
      const issued = await ctx.ca.issueClient(body.csrPem, `client-${newId().slice(0, 12)}`, body.expiryMs);
      return { certPem: issued.certPem, caPem: issued.trustPem };
    },
  },
  {
    method: 'POST',
    pattern: /^\/v1\/join-token\/([^/]+)\/rotate$/,
    handler: async (ctx, _req, [role]) => {
      if (role !== 'worker' && role !== 'manager') throw new InvalidArgumentError(`unknown role ${role}: use worker or manager`);
      const token = await rotateJoinToken(ctx.store, role);
      return { role, token, managerAddr: ctx.dispatcherAddr, command: `tsswarm join --token ${token} ${ctx.dispatcherAddr}` };
    },
  },
  {
    method: 'POST',
    pattern: /^\/v1\/cluster\/update$/,
    handler: async (ctx, req) => {
      const body = (await readJson(req)) as ClusterUpdateRequest | null;
      if (body === null) throw new InvalidArgumentError('expected a JSON object');
      const cur = await ctx.store.get<Cluster>(Keys.cluster);
      if (!cur) throw new NotFoundError('the cluster is not initialised');
      const next = planClusterUpdate(cur.value, body);
      if (!(await ctx.store.commit([{ put: Keys.cluster, value: next, guard: { modRevision: cur.modRevision } }]))) {
        throw new ConflictError('the cluster settings changed meanwhile; try again');
      }
      return {
        heartbeatPeriodMs: next.heartbeatPeriodMs,
        heartbeatGraceMs: next.heartbeatGraceMs,
        certExpiryMs: next.certExpiryMs ?? DEFAULT_CERT_EXPIRY_MS,
        taskHistoryLimit: next.taskHistoryLimit ?? HISTORY_LIMIT,
        registryMirrors: next.registries?.mirrors ?? [],
        insecureRegistries: next.registries?.insecure ?? [],
        imageGcThresholdPercent: next.imageGcThresholdPercent ?? DEFAULT_IMAGE_GC_PERCENT,
      };
    },
  },
  {
    method: 'GET',
    pattern: /^\/v1\/nodes$/,
    handler: async (ctx) => {
      const [stored, leader, managers] = await Promise.all([ctx.store.list<ClusterNode>(Keys.nodes), currentLeader(ctx.store).catch(() => null), liveManagers(ctx.store)]);
      const nodes = stored.map((n) => n.value);
      const live = new Set(managers.flatMap((m) => (m.nodeId ? [m.nodeId] : [])));
      return nodes.map((n) => nodeView(n, leader?.nodeId ?? null, live)).sort((a, b) => a.hostname.localeCompare(b.hostname));
    },
  },
  {
    method: 'GET',
    pattern: /^\/v1\/nodes\/([^/]+)$/,
    handler: async (ctx, _req, [ref]) => findNode(await ctx.store.list<ClusterNode>(Keys.nodes), ref!).value,
  },
  {
    method: 'POST',
    pattern: /^\/v1\/nodes\/([^/]+)\/update$/,
    handler: async (ctx, req, [ref]) => {
      const body = (await readJson(req)) as NodeUpdateRequest | null;
      if (body === null) throw new InvalidArgumentError('expected a JSON object');
      return updateNode(ctx.store, ref!, () => body);
    },
  },
  {
    method: 'DELETE',
    pattern: /^\/v1\/nodes\/([^/]+)$/,
    handler: async (ctx, _req, [ref], q) => {
      return { removed: (await removeNode(ctx.store, ref!, q.get('force') === '1')).id };
    },
  },
  {
    method: 'GET',
    pattern: /^\/v1\/services$/,
    handler: async (ctx, _req, _p, q) => {
      const [services, tasks, nodes] = await Promise.all([
        ctx.store.list<Service>(Keys.services),
        ctx.store.list<Task>(Keys.tasks),
        ctx.store.list<ClusterNode>(Keys.nodes),
      ]);
      const stack = q.get('stack');
      const ts = tasks.map((t) => t.value);
      const ns = nodes.map((n) => n.value);
      const all = services.map((s) => s.value);
      return all
        .filter((s) => stack === null || s.spec.stack === stack)
        .map((s) => serviceView(s, ts, ns, all))
        .sort((a, b) => a.name.localeCompare(b.name));
    },
  },
  {
    method: 'GET',
    pattern: /^\/v1\/services\/([^/]+)$/,
    handler: async (ctx, _req, [name]) => (await findService(ctx.store, name!)).value,
  },
  {
    method: 'GET',
    pattern: /^\/v1\/services\/([^/]+)\/tasks$/,
    handler: async (ctx, _req, [name]) => {
      const svc = await findService(ctx.store, name!);
      const [tasks, nodes] = await Promise.all([ctx.store.list<Task>(Keys.tasks), nodesMap(ctx.store)]);
      return sortTasks(tasks.filter((t) => t.value.serviceId === svc.value.id).map((t) => taskView(t.value, nodes, svc.value)));
    },
  },
  {
    method: 'POST',
    pattern: /^\/v1\/services\/([^/]+)\/pause$/,
    handler: async (ctx, req, [name]) => {
      const paused = pausedFlag(await readJson(req));
      const svc = await findService(ctx.store, name!);
      const tasks = (await ctx.store.list<Task>(Keys.tasks)).filter((t) => t.value.serviceId === svc.value.id && t.value.desiredState === 'running');
      // The service's flag (for the tasks it will make) and every live task's, in one guarded transaction.
      const ops: WriteOp[] = [
        { put: svc.key, value: { ...svc.value, paused, updatedAt: new Date().toISOString() }, guard: { modRevision: svc.modRevision } },
        ...tasks.filter((t) => t.value.paused !== paused).map((t): WriteOp => ({ put: t.key, value: { ...t.value, paused }, guard: { modRevision: t.modRevision } })),
      ];
      if (!(await ctx.store.commit(ops))) throw new ConflictError(`service ${svc.value.spec.name} changed meanwhile; try again`);
      return { service: svc.value.spec.name, paused, tasks: tasks.length };
    },
  },
  {
    method: 'GET',
    pattern: /^\/v1\/tasks\/([^/]+)$/,
    // The task as stored: its spec, status (health and the last health check results included).
    handler: async (ctx, _req, [ref]) => (await findTask(ctx.store, ref!)).value,
  },
  {
    method: 'POST',
    pattern: /^\/v1\/tasks\/([^/]+)\/pause$/,
    handler: async (ctx, req, [ref]) => {
      const paused = pausedFlag(await readJson(req));
      const t = await findTask(ctx.store, ref!);
      if (t.value.desiredState !== 'running') throw new InvalidArgumentError(`task ${ref} is being stopped; only a running task can be ${paused ? 'paused' : 'unpaused'}`);
      if (!(await ctx.store.commit([{ put: t.key, value: { ...t.value, paused }, guard: { modRevision: t.modRevision } }]))) {
        throw new ConflictError(`task ${ref} changed meanwhile; try again`);
      }
      return { task: t.value.id, paused };
    },
  },
  {
    method: 'POST',
    pattern: /^\/v1\/scale$/,
    handler: async (ctx, req) => {
      const body = (await readJson(req)) as ScaleRequest | null;
      if (!body || typeof body.scales !== 'object' || body.scales === null) throw new InvalidArgumentError('expected {"scales": {"service": replicas}}');
      const entries = Object.entries(body.scales);
      if (entries.length === 0) throw new InvalidArgumentError('nothing to scale');
      const all = await ctx.store.list<Service>(Keys.services);
      const ops: WriteOp[] = [];
      const now = new Date().toISOString();
      for (const [name, n] of entries) {
        if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`invalid replicas for ${name}: must be a non-negative integer`);
        const svc = all.find((s) => s.value.spec.name === name || s.value.id === name);
        if (!svc) throw new ServiceNotFoundError(`service ${name} not found`);
        if (svc.value.spec.mode === 'global') throw new InvalidArgumentError(`service ${name} is global; it cannot be scaled`);
        ops.push({ put: svc.key, value: { ...svc.value, spec: { ...svc.value.spec, replicas: n }, updatedAt: now }, guard: { modRevision: svc.modRevision } });
      }
      if (!(await ctx.store.commit(ops))) throw new ConflictError('services changed while scaling; try again');
      return { scaled: entries.map(([name]) => name) };
    },
  },
  {
    method: 'GET',
    pattern: /^\/v1\/tasks$/,
    handler: async (ctx) => {
      const [tasks, nodes, services] = await Promise.all([ctx.store.list<Task>(Keys.tasks), nodesMap(ctx.store), servicesMap(ctx.store)]);
      return sortTasks(tasks.map((t) => taskView(t.value, nodes, services.get(t.value.serviceId))));
    },
  },
  {
    method: 'GET',
    pattern: /^\/v1\/stacks$/,
    handler: async (ctx): Promise<StackView[]> => {
      const stacks = await ctx.store.list<Stack>(Keys.stacks);
      return stacks.map((s) => ({ name: s.value.name, services: s.value.services.length })).sort((a, b) => a.name.localeCompare(b.name));
    },
  },
  {
    method: 'GET',
    pattern: /^\/v1\/stacks\/([^/]+)\/tasks$/,
    handler: async (ctx, _req, [name]) => {
      const stack = await ctx.store.get<Stack>(Keys.stack(name!));
      if (!stack) throw new StackNotFoundError(`stack ${name} not found`);
      const [tasks, nodes, services] = await Promise.all([ctx.store.list<Task>(Keys.tasks), nodesMap(ctx.store), servicesMap(ctx.store)]);
      const ids = new Set(stack.value.services);
      return sortTasks(tasks.filter((t) => ids.has(t.value.serviceId)).map((t) => taskView(t.value, nodes, services.get(t.value.serviceId))));
    },
  },
  {
    method: 'POST',
    pattern: /^\/v1\/stacks\/([^/]+)$/,
    handler: async (ctx, req, [name]) => {
      const stackName = name!;
      if (!STACK_NAME.test(stackName)) throw new InvalidArgumentError(`invalid stack name ${stackName}`);
      const body = (await readJson(req)) as DeployRequest | null;
      if (!body || !Array.isArray(body.services)) throw new InvalidArgumentError('expected {"services": [...]}');
      if (body.services.length === 0) throw new InvalidArgumentError('a stack needs at least one service');
      for (const s of body.services) validateSpec(s, stackName);
      if (!Array.isArray(body.networks)) throw new InvalidArgumentError('expected {"networks": [...]}');
      // Every image pinned to a digest before anything is written; a service that keeps its tag keeps its digest under `changed`.
      const mode = resolveMode(body.resolveImage, 'always');
      const current = new Map((await ctx.store.list<Service>(Keys.services)).map((s) => [s.value.spec.name, s.value.spec.task.container.image]));
      const imageWarnings: string[] = [];
      const services: ServiceSpec[] = [];
      for (const s of body.services) {
        const r = await checkImage(ctx, s, mode, body.registryAuth, current.get(s.name) ?? null);
        if (r.warning) imageWarnings.push(r.warning);
        services.push(r.spec);
      }
      body.services = services;
      const secrets = body.secrets ?? [];
      const configs = body.configs ?? [];
      if (!Array.isArray(secrets) || !Array.isArray(configs)) throw new InvalidArgumentError('secrets and configs must be lists');
      const result = await deployStack(ctx.store, stackName, body.services, body.networks, body.prune === true, { secrets, configs, dek: () => ctx.keys.get(), registryAuth: authPolicy(ctx, body) });
      const nodes = await ctx.store.list<ClusterNode>(Keys.nodes);
      return { ...result, warnings: [...imageWarnings, ...placementWarnings(body.services, nodes.map((n) => n.value))] };
    },
  },
  {
    method: 'DELETE',
    pattern: /^\/v1\/stacks\/([^/]+)$/,
    handler: async (ctx, _req, [name]) => {
      const stack = await ctx.store.get<Stack>(Keys.stack(name!));
      if (!stack) throw new StackNotFoundError(`stack ${name} not found`);
      const [services, networks] = await Promise.all([ctx.store.list<Service>(Keys.services), ctx.store.list<Network>(Keys.networks)]);
      return { removed: await removeStack(ctx.store, name!, services, networks, stack) };
    },
  },
  {
    method: 'GET',
    pattern: /^\/v1\/networks$/,
    handler: async (ctx) => (await ctx.store.list<Network>(Keys.networks)).map((n) => networkView(n.value)).sort((a, b) => a.name.localeCompare(b.name)),
  },
  {
    method: 'GET',
    pattern: /^\/v1\/networks\/([^/]+)$/,
    handler: async (ctx, _req, [name]) => {
      const net = (await findNetwork(ctx.store, name!)).value;
      const [tasks, nodes] = await Promise.all([ctx.store.list<Task>(Keys.tasks), nodesMap(ctx.store)]);
      const containers = tasks
        .map((t) => t.value)
        .filter((t) => t.desiredState === 'running' && t.networks.some((a) => a.networkId === net.id))
        .map((t) => ({ task: taskView(t, nodes).name, address: t.networks.find((a) => a.networkId === net.id)!.address, node: t.nodeId ? nodes.get(t.nodeId)?.hostname ?? null : null }));
      return { ...networkView(net), labels: net.spec.labels, createdAt: net.createdAt, containers };
    },
  },
  {
    method: 'POST',
    pattern: /^\/v1\/networks$/,
    handler: async (ctx, req) => {
      const b = (await readJson(req)) as NetworkCreateRequest | null;
      if (!b || typeof b.name !== 'string') throw new InvalidArgumentError('expected {"name": ..., "driver": "overlay", ...}');
      const spec: NetworkSpec = { name: b.name, stack: null, driver: b.driver as 'overlay', subnet: b.subnet ?? null, attachable: b.attachable === true, labels: b.labels ?? {}, encrypted: b.encrypted === undefined ? false : (b.encrypted as boolean) };
      return networkView(await createNetwork(ctx.store, spec));
    },
  },
  {
    method: 'DELETE',
    pattern: /^\/v1\/networks\/([^/]+)$/,
    handler: async (ctx, _req, [name]) => {
      return { removed: (await removeNetwork(ctx.store, name!, { stackOwned: false })).spec.name };
    },
  },
  {
    method: 'POST',
    pattern: /^\/v1\/registry\/login$/,
    handler: async (ctx, req) => {
      const body = (await readJson(req)) as LoginRequest | null;
      if (!body || typeof body.registry !== 'string' || typeof body.username !== 'string' || typeof body.password !== 'string' || body.username === '') {
        throw new InvalidArgumentError('expected {"registry", "username", "password"}');
      }
      await ctx.puller.login(normalizeRegistryHost(body.registry), { username: body.username, password: body.password });
      return { status: 'Login Succeeded' };
    },
  },
  {
    method: 'GET',
    pattern: /^\/v1\/images$/,
    handler: async (ctx) => ctx.images.list(),
  },
  {
    method: 'POST',
    pattern: /^\/v1\/images\/import$/,
    handler: async (ctx, req, _p, q) => {
      const ref = q.get('ref');
      if (!ref) throw new InvalidArgumentError('missing image name (ref)');
      const normalized = normalizeImageRef(ref);
      const tmp = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'tsswarm-import-'));
      try {
        const file = path.join(tmp, 'archive.tar');
        await new Promise<void>((resolve, reject) => {
          const out = fs.createWriteStream(file);
          req.pipe(out);
          out.on('finish', resolve);
          out.on('error', reject);
          req.on('error', reject);
        });
        const summary = await ctx.images.importArchive(file, normalized);
        await ctx.replicator.announce(summary.ref, summary.digest);
        return summary;
      } finally {
        await fs.promises.rm(tmp, { recursive: true, force: true });
      }
    },
  },
];

export function createApiServer(ctx: ApiContext): http.Server {
  return http.createServer(apiHandler(ctx));
}

/** The API's request handler, on the unix socket and, behind a client-certificate check, on TCP. */
export function apiHandler(ctx: ApiContext): http.RequestListener {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://tsswarm');
    const method = req.method ?? 'GET';
    void (async () => {
      try {
        if (ctx.registry && (url.pathname === '/v2' || url.pathname.startsWith('/v2/')) && (await ctx.registry(req, res))) return;
        for (const r of [...streamRoutes, ...logRoutes, ...imageStreamRoutes]) {
          if (r.method !== method) continue;
          const m = r.pattern.exec(url.pathname);
          if (!m) continue;
          await r.stream(ctx, req, res, m.slice(1).map((p) => decodeURIComponent(p)), url.searchParams);
          return;
        }
        for (const r of [...routes, ...serviceRoutes, ...blobRoutes, ...volumeRoutes, ...imageRoutes]) {
          if (r.method !== method) continue;
          const m = r.pattern.exec(url.pathname);
          if (!m) continue;
          const params = m.slice(1).map((p) => decodeURIComponent(p));
          const out = await r.handler(ctx, req, params, url.searchParams);
          sendJson(res, 200, out);
          return;
        }
        throw new NotFoundError(`no such endpoint: ${method} ${url.pathname}`);
      } catch (e) {
        if (!(e instanceof Error && 'code' in e)) ctx.log.error(`${method} ${url.pathname}: ${(e as Error)?.stack ?? String(e)}`);
        // A stream that failed after it began can only end.
        if (res.headersSent) res.end();
        else sendError(res, e);
      }
    })();
  };
}

/** Listens on a unix socket only root can use. */
export async function listenUnix(server: http.Server, socketPath: string): Promise<void> {
  await fs.promises.mkdir(path.dirname(socketPath), { recursive: true });
  await fs.promises.rm(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  await fs.promises.chmod(socketPath, 0o600);
}
