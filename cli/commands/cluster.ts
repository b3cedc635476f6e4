/** `tsswarm init` and `tsswarm down`: start and stop what runs on this host. */
import { resolveUsernsRemap } from '../init/userns';
import { engineLabelsFlag, genericResourcesFlag } from '../init/node-description';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InvalidArgumentError, TsswarmError } from '../../shared/errors';
import { flagList, flagString, type Parsed } from '../../shared/flags';
import type { ClusterUpdateRequest, NodeView } from '../../shared/api-types';
import { parseDurationMs } from '../../shared/compose/units';
import { Client, DEFAULT_DATA_ROOT } from '../client';
import { socketInUse } from '../../shared/unix-socket';
import { configPath, defaultAdvertiseAddr, freePort, readConfig, writeConfig, type HostConfig } from '../init/config';
import type { CommandContext } from '../context';
import { hasCertificates, initCertificates, joinWithToken, keepExternalEtcdCredentials } from '../init/certificates';
import { parseJoinToken } from '../../shared/pki/join-token';
import { certExpiryFlag, formatDuration } from '../cert-expiry';
import { printUnlockKeyAtInit } from './unlock';
import { DEFAULT_CERT_EXPIRY_MS } from '../../shared/pki/validity';

export class InitError extends TsswarmError {
  readonly code = 'INIT_FAILED';
}

const dist = path.join(__dirname, '..', '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function requireRoot(what: string): void {
  if (process.getuid && process.getuid() !== 0) throw new InvalidArgumentError(`${what} must run as root`);
}

export function dataRootOf(args: Parsed): string {
  return path.resolve(flagString(args, 'data-root') ?? process.env.TSSWARM_DATA_ROOT ?? DEFAULT_DATA_ROOT);
}

function readPid(file: string): number | null {
  try {
    const n = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

/** True when pid runs and its command line mentions our data root (so a reused PID is not ours). */
function ours(pid: number, dataRoot: string, name: string): boolean {
  try {
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmd.includes(dataRoot) || (name === 'etcd' && cmd.includes(path.join(dataRoot, 'etcd')));
  } catch {
    return false;
  }
}

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * `--docker-socket PATH`: an absolute path that no process answers on. A running dockerd's socket
 * is never taken over; a stale socket file is replaced when the node starts.
 */
async function dockerSocketFlag(args: Parsed): Promise<string | null> {
  const v = flagString(args, 'docker-socket');
  if (v === null) return null;
  if (!path.isAbsolute(v)) throw new InvalidArgumentError(`--docker-socket ${v}: expected an absolute path (e.g. /var/run/docker.sock)`);
  if (await socketInUse(v)) throw new InvalidArgumentError(`--docker-socket ${v}: a running program (dockerd?) answers on it; tsswarm does not take it over: stop it or choose another path`);
  if (fs.existsSync(v) && !fs.statSync(v).isSocket()) throw new InvalidArgumentError(`--docker-socket ${v}: exists and is not a socket`);
  return v;
}

/** `--listen-api tcp://ADDR:PORT` → `ADDR:PORT`. */
function parseListenApi(v: string): string {
  const m = /^tcp:\/\/(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(v);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new InvalidArgumentError(`--listen-api ${v}: expected tcp://IP:PORT (e.g. tcp://0.0.0.0:2377)`);
  return `${m[1]}:${m[2]}`;
}

export async function init(args: Parsed): Promise<void> {
  const certExpiryMs = certExpiryFlag(args) ?? DEFAULT_CERT_EXPIRY_MS;
  const autolock = args.flags.get('autolock') === true;
  requireRoot('init');
  const dataRoot = dataRootOf(args);
  refuseRunning(dataRoot);
  const prev = readConfig(dataRoot);
  const advertise = flagString(args, 'advertise-addr') ?? prev?.advertiseAddr ?? defaultAdvertiseAddr();
  const external = flagString(args, 'etcd-endpoints');
  if (prev && prev.role === 'worker') throw new InvalidArgumentError(`this host is a worker of a cluster (data root ${dataRoot}); use tsswarm down --purge first`);
  const config: HostConfig = prev && !flagString(args, 'advertise-addr') && !external ? prev : {
    dataRoot,
    role: 'manager',
    managers: [],
    joinToken: null,
    advertiseAddr: advertise,
    externalEtcd: external ? external.split(',').map((s) => s.trim()).filter(Boolean) : [],
    etcdClientPort: await freePort(2379),
    etcdPeerPort: await freePort(2380),
    grpcPort: await freePort(4242, advertise),
    registryPort: await freePort(4243, advertise),
    cgroupParent: flagString(args, 'cgroup-parent') ?? 'tsswarm',
    hostname: flagString(args, 'hostname') ?? os.hostname(),
  };
  const remap = flagString(args, 'userns-remap');
  if (remap !== null) config.usernsRemap = resolveUsernsRemap(remap);
  const engineLabels = engineLabelsFlag(args);
  if (engineLabels) config.engineLabels = engineLabels;
  const genericResources = genericResourcesFlag(args);
  if (genericResources) config.genericResources = genericResources;
  const listenApi = flagString(args, 'listen-api');
  if (listenApi !== null) config.apiListen = parseListenApi(listenApi);
  const dockerSocket = await dockerSocketFlag(args);
  if (dockerSocket !== null) config.dockerSocket = dockerSocket;
  keepExternalEtcdCredentials(dataRoot, { ca: flagString(args, 'etcd-cacert'), cert: flagString(args, 'etcd-cert'), key: flagString(args, 'etcd-key') });
  // A host that already has its certificates keeps its identity; a new cluster gets a new CA.
  if (config !== prev || !hasCertificates(dataRoot)) {
    if (fs.existsSync(path.join(dataRoot, 'etcd'))) throw new InvalidArgumentError(`this host already holds a cluster's data (data root ${dataRoot}); use tsswarm down --purge first`);
    await initCertificates(dataRoot, config.advertiseAddr, { certExpiryMs, autolock });
  }
  writeConfig(config);
  const node = await startManagerHost(dataRoot);
  if (node === 'locked') {
    process.stdout.write('Node started; its manager is locked (autolock): run tsswarm unlock and give it the unlock key.\n');
    return;
  }
  process.stdout.write(`Cluster initialized: current node (${node.id}) is now a manager.\n`);
  process.stdout.write(`API: ${path.join(dataRoot, 'api.sock')}  data root: ${dataRoot}\n`);
  if (autolock) {
    const { unlockKey } = await new Client(path.join(dataRoot, 'api.sock')).get<{ unlockKey: string }>('/v1/unlock-key');
    printUnlockKeyAtInit(unlockKey);
  }
}

/** Starts a manager host's programs (config already written) and waits until its node is ready. */
async function startManagerHost(dataRoot: string): Promise<NodeView | 'locked'> {
  // init and join wrote the node id with the certificate that names it.
  const id = fs.readFileSync(path.join(dataRoot, 'agent', 'node-id'), 'utf8').trim();
  const logs = path.join(dataRoot, 'logs');
  const child = startSupervisor(dataRoot);
  const client = new Client(path.join(dataRoot, 'api.sock'));
  const deadline = Date.now() + 60000;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      const node = (await client.get<NodeView[]>('/v1/nodes')).find((n) => n.id === id && n.status === 'ready');
      if (node) return node;
    } catch (e) {
      // An autolocked manager that restarted waits for its key.
      if (e instanceof TsswarmError && e.code === 'MANAGER_LOCKED') return 'locked';
    }
    await sleep(100);
  }
  const why = ['manager', 'agent', 'etcd', 'supervisor'].map((n) => tail(path.join(logs, `${n}.log`), 5)).filter(Boolean).join('\n');
  if (why) process.stderr.write(`${why}\n`);
  throw new InitError(`the node did not become ready within 60s; logs in ${logs}`);
}

/** Starts the detached supervisor of this host's programs (see init/supervisor.ts). */
function startSupervisor(dataRoot: string): ChildProcess {
  const logs = path.join(dataRoot, 'logs');
  fs.mkdirSync(logs, { recursive: true });
  const out = fs.openSync(path.join(logs, 'supervisor.log'), 'a');
  const child = spawn(process.execPath, [path.join(dist, 'cli', 'init', 'supervisor.js'), '--data-root', dataRoot], {
    detached: true,
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  child.unref();
  return child;
}

/** Refuses to start a second node in a data root whose supervisor still runs. */
function refuseRunning(dataRoot: string): void {
  const sup = readPid(path.join(dataRoot, 'supervisor.pid'));
  if (sup && ours(sup, dataRoot, 'supervisor')) {
    throw new InvalidArgumentError(`this host is already part of a cluster (data root ${dataRoot}); use tsswarm down first`);
  }
}

const MANAGER_ADDR = /^(\d{1,3}(?:\.\d{1,3}){3}|[a-zA-Z0-9.-]+)(?::(\d{1,5}))?$/;

export async function join(args: Parsed): Promise<void> {
  // Checked before anything is asked of the manager: a bad --userns-remap changes nothing.
  const remapFlag = flagString(args, 'userns-remap');
  const usernsRemap = remapFlag === null ? null : resolveUsernsRemap(remapFlag);
  const engineLabels = engineLabelsFlag(args);
  const genericResources = genericResourcesFlag(args);
  const dockerSocket = await dockerSocketFlag(args);
  requireRoot('join');
  const token = flagString(args, 'token');
  const [manager, ...extra] = args.positionals;
  if (!token || !manager || extra.length) throw new InvalidArgumentError('usage: tsswarm join --token TOKEN MANAGER_ADDR[:PORT]');
  parseJoinToken(token);
  const m = MANAGER_ADDR.exec(manager);
  if (!m || (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65535))) throw new InvalidArgumentError(`invalid manager address ${manager}`);
  const managerAddr = `${m[1]}:${m[2] ?? '4242'}`;
  const dataRoot = dataRootOf(args);
  refuseRunning(dataRoot);
  const prev = readConfig(dataRoot);
  if (prev && prev.role === 'manager' && fs.existsSync(path.join(dataRoot, 'etcd'))) {
    throw new InvalidArgumentError(`this host was initialised as a manager (data root ${dataRoot}); use tsswarm down --purge first`);
  }
  const advertise = flagString(args, 'advertise-addr') ?? defaultAdvertiseAddr();
  const hostname = flagString(args, 'hostname') ?? os.hostname();
  const ports = { etcdClientPort: await freePort(2379, advertise), etcdPeerPort: await freePort(2380, advertise) };
  // The token decides the role and gets the host its certificates; a manager also learns which etcd to use.
  const joined = await joinWithToken(dataRoot, managerAddr, token, { hostname, addr: advertise, etcd_peer_url: `https://${advertise}:${ports.etcdPeerPort}` });
  const answer = joined.host;
  const config: HostConfig = {
    dataRoot,
    role: joined.role,
    managers: [managerAddr, ...answer.managers.filter((a) => a !== managerAddr)],
    joinToken: null,
    advertiseAddr: advertise,
    externalEtcd: [],
    etcdClientPort: 0,
    etcdPeerPort: 0,
    grpcPort: 0,
    registryPort: 0,
    cgroupParent: flagString(args, 'cgroup-parent') ?? 'tsswarm',
    hostname,
    usernsRemap,
    ...(engineLabels ? { engineLabels } : {}),
    ...(genericResources ? { genericResources } : {}),
    ...(dockerSocket !== null ? { dockerSocket } : {}),
  };
  if (config.role === 'manager') {
    Object.assign(config, {
      ...ports,
      grpcPort: await freePort(4242, advertise),
      registryPort: await freePort(4243, advertise),
      ...(answer.etcd_managed
        ? { etcdName: answer.etcd_name, etcdInitialCluster: answer.etcd_initial_cluster, etcdMembers: answer.etcd_endpoints }
        : { externalEtcd: answer.etcd_endpoints }),
    });
    writeConfig(config);
    const node = await startManagerHost(dataRoot);
    process.stdout.write(node === 'locked' ? 'This node joined the cluster as a manager; the manager is locked: run tsswarm unlock.\n' : `This node (${node.id}) joined the cluster as a manager.\n`);
    return;
  }
  writeConfig(config);
  const status = path.join(dataRoot, 'agent', 'session.json');
  fs.rmSync(status, { force: true });
  const child = startSupervisor(dataRoot);
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    let s: { state: string; nodeId: string; reason: string | null } | null = null;
    try {
      s = JSON.parse(fs.readFileSync(status, 'utf8')) as { state: string; nodeId: string; reason: string | null };
    } catch {
      // not yet
    }
    if (s?.state === 'connected') {
      process.stdout.write(`This node (${s.nodeId}) joined the cluster as a worker.\n`);
      return;
    }
    if (s?.state === 'rejected') {
      await stopSupervisor(dataRoot);
      fs.rmSync(configPath(dataRoot), { force: true });
      throw new InitError(`the manager refused this node: ${s.reason}`);
    }
    if (child.exitCode !== null) break;
    // Reading a small file is cheap; a join is over within a second or so.
    await sleep(20);
  }
  await stopSupervisor(dataRoot);
  throw new InitError(`could not reach the manager at ${managerAddr} within 30s; logs in ${path.join(dataRoot, 'logs')}`);
}

export async function joinToken(ctx: CommandContext): Promise<void> {
  const [role] = ctx.args.positionals;
  if (role !== 'worker' && role !== 'manager') throw new InvalidArgumentError('usage: tsswarm join-token worker|manager [--rotate] [--quiet]');
  const rotate = ctx.args.flags.get('rotate') === true;
  const t = rotate
    ? await ctx.client.post<{ token: string; command: string }>(`/v1/join-token/${role}/rotate`, {})
    : await ctx.client.get<{ token: string; command: string }>(`/v1/join-token/${role}`);
  if (rotate && !(ctx.args.flags.get('quiet') === true || ctx.args.flags.get('q') === true)) process.stdout.write(`Successfully rotated ${role} join token.\n\n`);
  if (ctx.args.flags.get('quiet') === true || ctx.args.flags.get('q') === true) {
    process.stdout.write(`${t.token}\n`);
    return;
  }
  process.stdout.write(`To add a ${role} to this cluster, run the following command:\n\n    ${t.command}\n\n`);
}

async function stopSupervisor(dataRoot: string): Promise<void> {
  const sup = readPid(path.join(dataRoot, 'supervisor.pid'));
  if (sup && ours(sup, dataRoot, 'supervisor')) {
    process.kill(sup, 'SIGTERM');
    if (!(await waitExit(sup, 30000))) process.kill(sup, 'SIGKILL');
  }
}

async function waitExit(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await sleep(50);
  }
  return false;
}

export async function down(args: Parsed): Promise<void> {
  requireRoot('down');
  const dataRoot = dataRootOf(args);
  const config = readConfig(dataRoot);
  if (!config) throw new InvalidArgumentError(`no cluster node here (nothing in ${dataRoot})`);
  await stopSupervisor(dataRoot);
  // Anything the supervisor could not stop.
  for (const name of ['agent', 'manager', 'etcd']) {
    const pid = readPid(path.join(dataRoot, `${name}.pid`));
    if (pid && ours(pid, dataRoot, name)) {
      process.kill(pid, 'SIGKILL');
      await waitExit(pid, 5000);
    }
    fs.rmSync(path.join(dataRoot, `${name}.pid`), { force: true });
  }
  fs.rmSync(path.join(dataRoot, 'supervisor.pid'), { force: true });
  // The agent's clean-up mode removes every container, mount and cgroup it made.
  const r = spawnSync(process.execPath, [path.join(dist, 'agent', 'main.js'), '--cleanup', '--data-root', dataRoot, '--cgroup-parent', config.cgroupParent], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0) throw new InitError('removing containers failed (see above)');
  fs.rmSync(path.join(dataRoot, 'api.sock'), { force: true });
  if (args.flags.get('purge') === true) fs.rmSync(dataRoot, { recursive: true, force: true });
  process.stdout.write(`Node stopped; its containers are removed${args.flags.get('purge') === true ? ' and its data deleted' : ''}.\n`);
}

/** `tsswarm update`: cluster-wide settings (like `docker swarm update --dispatcher-heartbeat`). */
export async function update(ctx: CommandContext): Promise<void> {
  const req: ClusterUpdateRequest = {};
  for (const [flag, field] of [['heartbeat-period', 'heartbeatPeriodMs'], ['heartbeat-grace', 'heartbeatGraceMs']] as const) {
    const v = flagString(ctx.args, flag);
    if (v === null) continue;
    const ms = parseDurationMs(v);
    if (ms === null) throw new InvalidArgumentError(`--${flag}: invalid duration ${JSON.stringify(v)} (e.g. 500ms, 2s)`);
    req[field] = ms;
  }
  const expiry = certExpiryFlag(ctx.args);
  if (expiry !== null) req.certExpiryMs = expiry;
  const history = flagString(ctx.args, 'task-history-limit');
  if (history !== null) {
    if (!/^\d+$/.test(history)) throw new InvalidArgumentError(`--task-history-limit: expected a non-negative integer, got ${JSON.stringify(history)}`);
    req.taskHistoryLimit = Number(history);
  }
  const gc = flagString(ctx.args, 'image-gc-threshold');
  if (gc !== null) {
    const n = /^(\d+)%?$/.exec(gc);
    if (!n) throw new InvalidArgumentError(`--image-gc-threshold: expected a percentage (e.g. 85), got ${JSON.stringify(gc)}`);
    req.imageGcThresholdPercent = Number(n[1]);
  }
  // Each list flag replaces its list; given once with an empty value, it empties it.
  if (ctx.args.flags.has('registry-mirror')) req.registryMirrors = flagList(ctx.args, 'registry-mirror');
  if (ctx.args.flags.has('insecure-registry')) req.insecureRegistries = flagList(ctx.args, 'insecure-registry');
  if (Object.keys(req).length === 0) {
    throw new InvalidArgumentError('update: nothing to change (--heartbeat-period, --heartbeat-grace, --cert-expiry, --task-history-limit, --registry-mirror, --insecure-registry, --image-gc-threshold)');
  }
  const r = await ctx.client.post<{ heartbeatPeriodMs: number; heartbeatGraceMs: number; certExpiryMs: number; taskHistoryLimit: number; registryMirrors: string[]; insecureRegistries: string[]; imageGcThresholdPercent: number }>('/v1/cluster/update', req);
  process.stdout.write(`heartbeat every ${r.heartbeatPeriodMs}ms, node down after ${r.heartbeatGraceMs}ms of silence\n`);
  if (expiry !== null) process.stdout.write(`node certificates issued from now on are valid ${formatDuration(r.certExpiryMs)}\n`);
  if (history !== null) process.stdout.write(`${r.taskHistoryLimit} ended tasks kept per slot\n`);
  if (req.registryMirrors) process.stdout.write(`registry mirrors: ${r.registryMirrors.join(', ') || 'none'}\n`);
  if (req.insecureRegistries) process.stdout.write(`insecure registries: ${r.insecureRegistries.join(', ') || 'none'}\n`);
  if (gc !== null) process.stdout.write(r.imageGcThresholdPercent >= 100 ? 'nodes never remove unused images by themselves\n' : `nodes remove unused images when their disk is over ${r.imageGcThresholdPercent}% full\n`);
}

