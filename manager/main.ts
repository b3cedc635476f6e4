/**
 * The manager process: REST API on a unix socket, the cluster registry over
 * HTTP, the gRPC dispatcher for agents, and, while it is the leader, the
 * reconcile loops.
 */
import * as path from 'node:path';
import { SCHEMA_VERSION } from '../shared/types';
import { newId } from '../shared/ids';
import { createLogger } from '../shared/log';
import { flagString, parseFlags } from '../shared/flags';
import { certFiles, readIfExists } from '../shared/pki/node-files';
import { readMaterial, TlsIdentity } from '../shared/pki/tls-identity';
import { clientOf, createMutualTlsServer, managerFetch } from '../shared/pki/https';
import { ETCD_CN } from '../shared/pki/roles';
import { Store } from './store/store';
import { ensureCluster, NoClusterError } from './ca/bootstrap';
import { NodeCa } from './ca/node-ca';
import { caRotationLoop } from './ca/rotation';
import { RevokedNodes } from './ca/revoked';
import { StoreView } from './store/view';
import { Keys } from '../shared/keys';
import { DataKey } from './keys/data-key';
import { fetchDataKey } from './keys/fetch-data-key';
import { waitForUnlock } from './keys/locked-api';
import { followUnlockKey } from './keys/unlock-key';
import { restartLocalEtcd, type LocalMember } from './election/etcd-restart';
import type { ExternalEtcdCredentials } from './dispatcher/join';
import { clearPredecessor, LeaderElection } from './election/leader';
import { ManagerPresence } from './election/presence';
import { promoteWhenReady } from './election/etcd-members';
import { orchestratorLoop } from './orchestrator/run';
import { updaterLoop } from './orchestrator/update/loop';
import { schedulerLoop } from './scheduler/run';
import { allocatorLoop } from './allocator/run';
import { networkKeyLoop } from './network-keys/run';
import type { ReconcileLoop } from './orchestrator/loop';
import { Dispatcher } from './dispatcher/dispatcher';
import { apiHandler, createApiServer, listenUnix } from './api/server';
import { EventLog } from './api/events';
import { listenTcpApi, tcpRefusal } from './api/tcp';
import { attachExec } from './api/exec-route';
import { ImageStore } from './registry/store';
import { createRegistryHandler } from './registry/http';
import { ImageReplicator } from './registry/replicate';
import { clusterPlatforms, ImagePuller } from './registry/puller';
import { ImageResolver } from './registry/resolve';
import { PullThrough } from './registry/pull-through';
import { createServer } from 'node:http';
import { dockerApiHandler, isDockerPath } from './docker-api/server';
import { listenUnixIfFree } from '../shared/unix-socket';

const log = createLogger('manager');

async function retry<T>(what: string, f: () => Promise<T>, tries = 60): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await f();
    } catch (e) {
      if (i >= tries || e instanceof NoClusterError) throw e;
      if (i === 1 || i % 10 === 0) log.warn(`${what}: ${(e as Error).message}; retrying`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

async function main(): Promise<void> {
  const args = parseFlags(process.argv.slice(2), ['data-root', 'etcd-endpoints', 'socket', 'grpc-listen', 'registry-listen', 'advertise-addr', 'node-id', 'etcd-member', 'etcd-local', 'api-listen', 'docker-socket'], []);
  const dataRoot = flagString(args, 'data-root') ?? '/var/lib/tsswarm';
  const endpoints = (flagString(args, 'etcd-endpoints') ?? 'http://127.0.0.1:2379').split(',');
  const socket = flagString(args, 'socket') ?? path.join(dataRoot, 'api.sock');
  const grpcListen = flagString(args, 'grpc-listen') ?? '0.0.0.0:4242';
  const registryListen = flagString(args, 'registry-listen') ?? '0.0.0.0:4243';
  const advertise = flagString(args, 'advertise-addr') ?? '127.0.0.1';
  const localNodeId = flagString(args, 'node-id');
  const apiListen = flagString(args, 'api-listen');

  // --etcd-local URL: the managers run etcd themselves, one member per manager host, this one's at URL.
  const etcdLocal = flagString(args, 'etcd-local');
  const etcdManaged = etcdLocal !== null;
  // Our own members allow 1 s keepalive pings (cli/init/supervisor.ts).
  const keepaliveMs = etcdManaged ? 1000 : 5000;

  // This host's node certificate is the manager's server certificate (dispatcher, registry); the
  // agent beside it renews the files, and every new connection uses what they hold then.
  const files = certFiles(dataRoot);
  const nodeMaterial = readMaterial(files);
  if (!nodeMaterial) throw new Error(`no node certificate in ${files.dir} (tsswarm init or join makes it)`);
  const tls = new TlsIdentity(nodeMaterial);
  tls.watchFiles(files);
  // etcd: the managers' own members take this host's etcd certificate; an external etcd, the
  // credentials given at init (or none, if it is plain HTTP).
  const etcdFiles = etcdManaged ? { ca: files.ca, cert: files.etcdCert, key: files.etcdKey } : files.externalEtcd;
  const etcdMaterial = readMaterial(etcdFiles);
  if (etcdManaged && !etcdMaterial) throw new Error(`no etcd certificate in ${files.dir}`);
  const etcdTls = etcdMaterial ? new TlsIdentity(etcdMaterial) : null;
  etcdTls?.watchFiles(etcdFiles);
  // A CA rotation changed this host's roots: its etcd member must restart to trust them.
  const etcdRestarts = new AbortController();
  /** Set once the store talks to this host's member alone. */
  let localMember: LocalMember | null = null;
  if (etcdManaged && etcdTls) {
    let roots = etcdTls.current.ca;
    etcdTls.onChange((m) => {
      if (m.ca === roots) return;
      roots = m.ca;
      void restartLocalEtcd(store, localMember, dataRoot, log.child('etcd'), etcdRestarts.signal);
    });
  }
  const externalEtcd: ExternalEtcdCredentials | null = !etcdManaged && etcdMaterial ? etcdMaterial : null;
  const externalCa = !etcdManaged ? readIfExists(files.externalEtcd.ca) : null;
  const storeTls = etcdTls ?? (externalCa ? new TlsIdentity({ ca: externalCa, cert: '', key: '' }) : null);
  const newStore = (eps: string[]) => new Store(eps, {}, keepaliveMs, storeTls);
  let store = newStore(endpoints);
  const managerId = newId();
  // First thing once the store answers, before the cluster record, the keys and promotion: a dead
  // predecessor's campaign key would keep another manager from leading until its lease ran out.
  const first = store;
  const cleared = localNodeId
    ? retry('clearing a predecessor', () => clearPredecessor(first, localNodeId, managerId)).then(
        (n) => {
          if (n) log.info(`removed ${n} keys of this node's previous manager`);
        },
        (e: Error) => log.warn(`clearing a predecessor: ${e.message}`),
      )
    : Promise.resolve();
  const keys = new DataKey(dataRoot);
  const keyState = keys.loadLocal();
  const cluster = await retry('connecting to etcd', () => ensureCluster(store, dataRoot, keys));
  if (keyState === 'locked') await waitForUnlock(socket, keys, log.child('keys'));
  const member = flagString(args, 'etcd-member');
  if (etcdLocal && member) await promoteWhenReady(store, member, log.child('etcd'));
  await cleared;
  if (etcdLocal) {
    // Once this host's member votes, talk to it alone: it lives as long as this host does (its
    // supervisor restarts it), so a member dying elsewhere never leaves calls, watches or lease
    // keepalives waiting on a dead connection. (A joining learner serves no requests: until it is
    // promoted, the other members' endpoints are used.) While it restarts, the others are used.
    if (endpoints.join() !== etcdLocal) {
      store.close();
      store = newStore([etcdLocal]);
    }
    const probe = async () => {
      const alone = newStore([etcdLocal]);
      try {
        await alone.client.maintenance.status();
      } finally {
        alone.close();
      }
    };
    localMember = { endpoint: etcdLocal, advertise, probe };
  }
  const images = new ImageStore(path.join(dataRoot, 'manager', 'images'));

  const revoked = new RevokedNodes(store, log.child('ca'));
  await revoked.start();
  const ca = new NodeCa(store, () => keys.get());

  // The cluster registry serves the cluster's nodes and operators: a node or client certificate
  // of this cluster (tsswarm ca client-cert), not removed. Pushes are announced for the other managers.
  const registryPort = Number(registryListen.split(':').pop());
  const authorizeRegistry = (req: import('node:http').IncomingMessage): string | null => {
    const c = clientOf(req);
    if (!c || c.clusterId !== cluster.id || c.commonName === ETCD_CN) return 'a node or client certificate of this cluster is required';
    if (revoked.has(c.commonName)) return 'this node was removed from the cluster';
    return null;
  };
  // The replicator starts after the registry listens; a push before then waits for it.
  let resolveReplicator!: (r: ImageReplicator) => void;
  const replicatorReady = new Promise<ImageReplicator>((r) => (resolveReplicator = r));
  let resolvePullThrough!: (p: PullThrough) => void;
  const pullThroughReady = new Promise<PullThrough>((r) => (resolvePullThrough = r));
  const registryOptions = {
    onPushed: (ref: string, digest: string) => replicatorReady.then((r) => r.announce(ref, digest)),
    onMissing: async (name: string, reference: string, r: import('node:http').IncomingMessage) => {
      const c = clientOf(r);
      const through = await pullThroughReady;
      return through.fetch(name, reference, c && (c.role === 'worker' || c.role === 'manager') ? c.commonName : null);
    },
  };
  const registryHandler = createRegistryHandler(images, { ...registryOptions, authorize: authorizeRegistry });
  // The same listener answers the Docker Engine API for the cluster's certificates (its paths never
  // start with /v2): workers' agents relay their host's Docker socket to it (docker-api/server.ts).
  let dockerOverTls: import('node:http').RequestListener | null = null;
  const registry = createMutualTlsServer(tls, (req, res) => {
    if (dockerOverTls && isDockerPath(new URL(req.url ?? '/', 'https://m').pathname)) return dockerOverTls(req, res);
    void registryHandler(req, res).then((handled) => {
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

  // What the dispatcher and the scheduler and allocator read: one watch-fed copy, no round trip per pass.
  const view = new StoreView(store, [Keys.tasks, Keys.networks, Keys.services, Keys.nodes, Keys.ipamAddrs, Keys.secrets, Keys.configs, Keys.volumeRequests], log.child('view'));
  await retry('reading the store', () => view.start());
  // `tsswarm events`: made from the view's changes from here on.
  const events = new EventLog(view);
  events.start();
  const dispatcher: Dispatcher = new Dispatcher({
    store,
    view,
    log: log.child('dispatcher'),
    listen: grpcListen,
    registryUrl: `https://${advertise}:${registryPort}`,
    tls,
    clusterId: cluster.id,
    ca,
    revoked,
    dek: () => keys.current(),
    externalEtcd,
    heartbeatPeriodMs: cluster.heartbeatPeriodMs,
    heartbeatGraceMs: cluster.heartbeatGraceMs,
    managerId,
    leaderWriter: () => election.writer,
    etcdManaged,
    etcdEndpoints: endpoints,
    advertiseAddr: (): string => `${advertise}:${dispatcher.port}`,
  });

  let loops: ReconcileLoop[] = [];
  const election = new LeaderElection(store, { managerId, nodeId: localNodeId }, {
    // The loops read the store and write through this term's fenced writer.
    onElected: async (writer) => {
      loops = [orchestratorLoop(store, writer, log.child('orchestrator')), updaterLoop(store, writer, log.child('updater')), allocatorLoop(store, view, writer, log.child('allocator')), schedulerLoop(store, view, writer, log.child('scheduler')), caRotationLoop(store, writer, log.child('ca')), networkKeyLoop(store, writer, log.child('network-keys'), () => keys.get())];
      await Promise.all(loops.map((l) => l.start()));
    },
    onDemoted: async () => {
      const l = loops;
      loops = [];
      await Promise.all(l.map((x) => x.stop()));
    },
  }, log.child('election'));
  await dispatcher.start();
  const registryUrl = `https://${advertise}:${registryPort}`;
  const presence = new ManagerPresence(store, { v: SCHEMA_VERSION, id: managerId, nodeId: localNodeId ?? null, dispatcher: `${advertise}:${dispatcher.port}`, registry: registryUrl, startedAt: new Date().toISOString() }, log.child('presence'));
  presence.start();
  // A manager that just joined (or was promoted) gets the data key from one that has it.
  const keyWait = new AbortController();
  if (keyState === 'none' && !keys.isOpen) void fetchDataKey(store, tls, keys, `${advertise}:${dispatcher.port}`, log.child('keys'), keyWait.signal);
  const stopUnlockKey = await followUnlockKey(store, keys, log.child('keys'));
  const replicator = new ImageReplicator(store, images, registryUrl, log.child('images'), managerFetch(tls), () => clusterPlatforms(view));
  resolveReplicator(replicator);
  await replicator.start();
  // Docker's certs.d layout, under the manager's data root: <host:port>/ca.crt is trusted for that registry.
  const puller = new ImagePuller(store, view, images, replicator, path.join(dataRoot, 'manager', 'certs.d'));
  const resolver = new ImageResolver(images, replicator, puller);
  resolvePullThrough(new PullThrough(view, store, images, replicator, puller, () => keys.get(), log.child('registry')));
  election.start();

  const apiContext = {
    store,
    images,
    replicator,
    puller,
    resolver,
    log: log.child('api'),
    managerId,
    clusterId: cluster.id,
    isLeader: () => election.isLeader,
    localNodeId,
    dispatcherAddr: `${advertise}:${dispatcher.port}`,
    ca,
    keys,
    events,
    view,
    streams: dispatcher.streams,
    // The cluster registry on the API's sockets too (their own authorisation): `tsswarm build` on a host reads and pushes through it.
    registry: createRegistryHandler(images, registryOptions),
  };
  const api = createApiServer(apiContext);
  attachExec(api, apiContext);
  await listenUnix(api, socket);
  // The Docker Engine API beside it (manager/docker-api/), root-only like it: a failure to listen
  // costs only that socket.
  const dockerApi = createServer(dockerApiHandler(apiContext));
  dockerOverTls = dockerApiHandler(apiContext, (req) => {
    const refused = authorizeRegistry(req);
    if (refused !== null) return refused;
    const c = clientOf(req)!;
    // An operator's client certificate is the TCP API's credential; a worker's is its host's root.
    return c.role === 'worker' ? { localNodeId: c.commonName, control: false } : { localNodeId: c.role === 'manager' ? c.commonName : localNodeId, control: true };
  });
  // `--docker-socket PATH` as well (an init|join option): never one another program answers on.
  const dockerSockets = [path.join(path.dirname(socket), 'docker.sock'), ...(flagString(args, 'docker-socket') ? [flagString(args, 'docker-socket')!] : [])];
  const dockerServers = [dockerApi, ...dockerSockets.slice(1).map(() => createServer(dockerApiHandler(apiContext)))];
  await Promise.all(dockerSockets.map((p, i) => listenUnixIfFree(dockerServers[i]!, p).catch((e: Error) => log.warn(`the Docker API socket ${p}: ${e.message}`))));
  // `init --listen-api tcp://ADDR:PORT`: the same API over TLS, for operators' client certificates only.
  const tsswarmApi = apiHandler(apiContext);
  const dockerApiOverTcp = dockerApiHandler(apiContext);
  const tcpApi = apiListen ? await listenTcpApi(tls, (req, res) => (isDockerPath(new URL(req.url ?? '/', 'https://m').pathname) ? dockerApiOverTcp : tsswarmApi)(req, res), apiListen, cluster.id) : null;
  if (tcpApi) attachExec(tcpApi, apiContext, (req) => tcpRefusal(req, cluster.id));
  // The X.509 library loads in ~100 ms: load it now rather than in the first join's answer.
  setImmediate(() => void import('../shared/pki/x509-lib').then((m) => m.x509()));
  log.info(`manager ${managerId.slice(0, 12)} ready: api ${socket}${apiListen ? ` and tcp://${apiListen}` : ''}, dispatcher ${grpcListen}, registry ${registryListen}`);

  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down');
    events.stop();
    api.close();
    for (const d of dockerServers) {
      d.close();
      d.closeAllConnections();
    }
    // Streams (events -f, logs -f) would hold a closing server open.
    api.closeAllConnections();
    tcpApi?.close();
    tcpApi?.closeAllConnections?.();
    registry.close();
    keyWait.abort();
    await stopUnlockKey().catch(() => undefined);
    etcdRestarts.abort();
    tls.stopWatching();
    etcdTls?.stopWatching();
    await revoked.stop().catch(() => undefined);
    await election.stop().catch(() => undefined);
    await presence.stop().catch(() => undefined);
    await replicator.stop().catch(() => undefined);
    puller.close();
    await dispatcher.stop().catch(() => undefined);
    await view.stop().catch(() => undefined);
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
