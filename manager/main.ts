/**
 * The manager process: REST API on a unix socket, the cluster registry over
 * HTTP, the gRPC dispatcher for agents, and, while it is the leader, the
 * reconcile loops.
 */
import * as http from 'node:http';
import * as path from 'node:path';
import type { Cluster } from '../shared/types';
import { SCHEMA_VERSION } from '../shared/types';
import { Keys } from '../shared/keys';
import { newId } from '../shared/ids';
import { createLogger } from '../shared/log';
import { flagString, parseFlags } from '../shared/flags';
import { Store } from './store/store';
import { newJoinToken } from './ca/join-token';
import { clearPredecessor, LeaderElection } from './election/leader';
import { ManagerPresence } from './election/presence';
import { promoteWhenReady } from './election/etcd-members';
import { orchestratorLoop } from './orchestrator/run';
import { schedulerLoop } from './scheduler/run';
import { allocatorLoop } from './allocator/run';
import type { ReconcileLoop } from './orchestrator/loop';
import { Dispatcher } from './dispatcher/dispatcher';
import { createApiServer, listenUnix } from './api/server';
import { ImageStore } from './registry/store';
import { createRegistryHandler } from './registry/http';
import { ImageReplicator } from './registry/replicate';

const log = createLogger('manager');

async function ensureCluster(store: Store): Promise<Cluster> {
  const existing = await store.get<Cluster>(Keys.cluster);
  if (existing) return existing.value;
  const id = newId();
  const cluster: Cluster = {
    v: SCHEMA_VERSION,
    id,
    createdAt: new Date().toISOString(),
    // Three missed heartbeats: a dead agent is down within 1.5-1.75 s (checks run every half period).
    heartbeatPeriodMs: 500,
    heartbeatGraceMs: 1500,
    joinTokens: { worker: newJoinToken(id), manager: newJoinToken(id) },
  };
  if (await store.commit([{ put: Keys.cluster, value: cluster, guard: { absent: true } }])) return cluster;
  return (await store.get<Cluster>(Keys.cluster))!.value;
}

async function retry<T>(what: string, f: () => Promise<T>, tries = 60): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await f();
    } catch (e) {
      if (i >= tries) throw e;
      if (i === 1 || i % 10 === 0) log.warn(`${what}: ${(e as Error).message}; retrying`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

async function main(): Promise<void> {
  const args = parseFlags(process.argv.slice(2), ['data-root', 'etcd-endpoints', 'socket', 'grpc-listen', 'registry-listen', 'advertise-addr', 'node-id', 'etcd-member', 'etcd-local'], []);
  const dataRoot = flagString(args, 'data-root') ?? '/var/lib/tsswarm';
  const endpoints = (flagString(args, 'etcd-endpoints') ?? 'http://127.0.0.1:2379').split(',');
  const socket = flagString(args, 'socket') ?? path.join(dataRoot, 'api.sock');
  const grpcListen = flagString(args, 'grpc-listen') ?? '0.0.0.0:4242';
  const registryListen = flagString(args, 'registry-listen') ?? '0.0.0.0:4243';
  const advertise = flagString(args, 'advertise-addr') ?? '127.0.0.1';
  const localNodeId = flagString(args, 'node-id');

  // --etcd-local URL: the managers run etcd themselves, one member per manager host, this one's at URL.
  const etcdLocal = flagString(args, 'etcd-local');
  const etcdManaged = etcdLocal !== null;
  // Our own members allow 1 s keepalive pings (cli/init/supervisor.ts).
  const keepaliveMs = etcdManaged ? 1000 : 5000;
  let store = new Store(endpoints, {}, keepaliveMs);
  const cluster = await retry('connecting to etcd', () => ensureCluster(store));
  const member = flagString(args, 'etcd-member');
  if (etcdLocal && member) await promoteWhenReady(store, member, log.child('etcd'));
  if (etcdLocal && endpoints.join() !== etcdLocal) {
    // Once this host's member votes, talk to it alone: it lives as long as this host does (its
    // supervisor restarts it), so a member dying elsewhere never leaves calls, watches or lease
    // keepalives waiting on a dead connection. (A joining learner serves no requests: until it is
    // promoted, the other members' endpoints are used.)
    store.close();
    store = new Store([etcdLocal], {}, keepaliveMs);
  }
  const managerId = newId();
  const images = new ImageStore(path.join(dataRoot, 'manager', 'images'));

  const registryPort = Number(registryListen.split(':').pop());
  const registry = http.createServer((req, res) => {
    void createRegistryHandler(images)(req, res).then((handled) => {
      if (!handled) {
        res.writeHead(404);
        res.end();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    registry.once('error', reject);
    registry.listen(registryPort, registryListen.slice(0, registryListen.lastIndexOf(':')), () => resolve());
  });

  const dispatcher = new Dispatcher({
    store,
    log: log.child('dispatcher'),
    listen: grpcListen,
    registryUrl: `http://${advertise}:${registryPort}`,
    heartbeatPeriodMs: cluster.heartbeatPeriodMs,
    heartbeatGraceMs: cluster.heartbeatGraceMs,
    localNodeId,
    managerId,
    isLeader: () => election.isLeader,
    etcdManaged,
    etcdEndpoints: endpoints,
  });

  let loops: ReconcileLoop[] = [];
  const election = new LeaderElection(store, { managerId, nodeId: localNodeId }, {
    onElected: async () => {
      loops = [orchestratorLoop(store, log.child('orchestrator')), allocatorLoop(store, log.child('allocator')), schedulerLoop(store, log.child('scheduler'))];
      await Promise.all(loops.map((l) => l.start()));
    },
    onDemoted: async () => {
      const l = loops;
      loops = [];
      await Promise.all(l.map((x) => x.stop()));
    },
  }, log.child('election'));
  await dispatcher.start();
  if (localNodeId) {
    const n = await clearPredecessor(store, localNodeId, managerId).catch((e: Error) => (log.warn(`clearing a predecessor: ${e.message}`), 0));
    if (n) log.info(`removed ${n} keys of this node's previous manager`);
  }
  const registryUrl = `http://${advertise}:${registryPort}`;
  const presence = new ManagerPresence(store, { v: SCHEMA_VERSION, id: managerId, nodeId: localNodeId ?? null, dispatcher: `${advertise}:${dispatcher.port}`, registry: registryUrl, startedAt: new Date().toISOString() }, log.child('presence'));
  presence.start();
  const replicator = new ImageReplicator(store, images, registryUrl, log.child('images'));
  await replicator.start();
  election.start();

  const api = createApiServer({
    store,
    images,
    replicator,
    log: log.child('api'),
    managerId,
    clusterId: cluster.id,
    isLeader: () => election.isLeader,
    localNodeId,
    dispatcherAddr: `${advertise}:${dispatcher.port}`,
  });
  await listenUnix(api, socket);
  log.info(`manager ${managerId.slice(0, 12)} ready: api ${socket}, dispatcher ${grpcListen}, registry ${registryListen}`);

  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down');
    api.close();
    registry.close();
    await election.stop().catch(() => undefined);
    await presence.stop().catch(() => undefined);
    await replicator.stop().catch(() => undefined);
    await dispatcher.stop().catch(() => undefined);
    store.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
}

main().catch((e: Error) => {
  log.error(`fatal: ${e.stack ?? e.message}`);
  process.exit(1);
});
