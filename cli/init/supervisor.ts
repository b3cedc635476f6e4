/**
 * The per-host supervisor `tsswarm init` starts, detached: it runs etcd (when
 * the cluster has no external one), the manager and the agent, restarts any
 * of them that dies, and stops them in order on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createLogger } from '../../shared/log';
import { flagString, parseFlags } from '../../shared/flags';
import { applyRoleChange, etcdEndpoints, readConfig, writeConfig, type HostConfig, type RoleChange } from './config';
import { certFiles } from '../../shared/pki/node-files';
import { ETCD_CN } from '../../shared/pki/roles';

const log = createLogger('supervisor');

interface Program {
  name: string;
  cmd: string;
  args: string[];
  child: ChildProcess | null;
  restarts: number;
  startedAt: number;
}

const dist = path.join(__dirname, '..', '..');
/** EX_CONFIG: the program cannot work as configured (e.g. the manager refused this node). */
const EXIT_FATAL = 78;
/** The agent was told of a promotion or demotion (agent/main.ts). */
const EXIT_ROLE_CHANGE = 79;

/** The agent's `--userns-remap UID:GID:SIZE` when the host remaps users. */
function usernsArgs(c: HostConfig): string[] {
  const r = c.usernsRemap;
  return r ? ['--userns-remap', `${r.uid}:${r.gid}:${r.size}`] : [];
}

/** The agent's `--label` and `--generic-resource` lists (`k=v,k2=v2`) from init/join's flags. */
function describeArgs(c: HostConfig): string[] {
  const list = (m: Record<string, string | number> | undefined) => Object.entries(m ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  return [
    ...(Object.keys(c.engineLabels ?? {}).length ? ['--label', list(c.engineLabels)] : []),
    ...(Object.keys(c.genericResources ?? {}).length ? ['--generic-resource', list(c.genericResources)] : []),
  ];
}

/** `--docker-socket PATH`: where the manager (or a worker's agent, relaying) also serves the Docker API. */
function dockerSocketArgs(c: HostConfig): string[] {
  return c.dockerSocket ? ['--docker-socket', c.dockerSocket] : [];
}

function programs(c: HostConfig): Program[] {
  const node = process.execPath;
  const list: Program[] = [];
  const p = (name: string, cmd: string, args: string[]): Program => ({ name, cmd, args, child: null, restarts: 0, startedAt: 0 });
  const managedEtcd = c.role === 'manager' && c.externalEtcd.length === 0;
  if (managedEtcd) {
    // On the advertised address, so the members of other manager hosts reach it; clients also on
    // loopback. Mutual TLS on both (another user of this host could reach loopback too): a member
    // or a client must hold a certificate of the cluster CA naming tsswarm-etcd, which only
    // manager hosts get.
    const peer = `https://${c.advertiseAddr}:${c.etcdPeerPort}`;
    const client = `https://${c.advertiseAddr}:${c.etcdClientPort}`;
    const name = c.etcdName ?? 'tsswarm';
    const f = certFiles(c.dataRoot);
    list.push(p('etcd', 'etcd', [
      '--name', name,
      '--data-dir', path.join(c.dataRoot, 'etcd'),
      '--listen-client-urls', c.advertiseAddr === '127.0.0.1' ? client : `https://127.0.0.1:${c.etcdClientPort},${client}`,
      '--advertise-client-urls', client,
      '--listen-peer-urls', peer,
      '--initial-advertise-peer-urls', peer,
      '--initial-cluster', c.etcdInitialCluster ?? `${name}=${peer}`,
      '--initial-cluster-state', c.etcdInitialCluster ? 'existing' : 'new',
      '--cert-file', f.etcdCert,
      '--key-file', f.etcdKey,
      '--trusted-ca-file', f.ca,
      '--client-cert-auth',
      '--client-cert-allowed-hostname', ETCD_CN,
      '--peer-cert-file', f.etcdCert,
      '--peer-key-file', f.etcdKey,
      '--peer-trusted-ca-file', f.ca,
      '--peer-client-cert-auth',
      '--peer-cert-allowed-cn', ETCD_CN,
      // Its HTTP gateway dials the member without verifying it, which the allowed-hostname check
      // then refuses, over and over; nothing of ours uses it.
      '--enable-grpc-gateway=false',
      // Managers ping their etcd connections every second to notice dead members (store/store.ts).
      '--grpc-keepalive-min-time', '1s',
      '--heartbeat-interval', '100',
      '--election-timeout', '1000',
      '--log-level', 'warn',
    ]));
  }
  if (c.role === 'worker') {
    list.push(p('agent', node, [
      path.join(dist, 'agent', 'main.js'),
      '--data-root', c.dataRoot,
      '--manager', c.managers.join(','),
      '--advertise-addr', c.advertiseAddr,
      '--hostname', c.hostname,
      '--cgroup-parent', c.cgroupParent,
      ...usernsArgs(c),
      ...describeArgs(c),
      ...dockerSocketArgs(c),
      '--role', 'worker',
    ]));
    return list;
  }
  const nodeId = (() => {
    try {
      return fs.readFileSync(path.join(c.dataRoot, 'agent', 'node-id'), 'utf8').trim();
    } catch {
      return '';
    }
  })();
  list.push(p('manager', node, [
    path.join(dist, 'manager', 'main.js'),
    '--data-root', c.dataRoot,
    '--etcd-endpoints', etcdEndpoints(c).join(','),
    '--socket', path.join(c.dataRoot, 'api.sock'),
    '--grpc-listen', `${c.advertiseAddr}:${c.grpcPort}`,
    '--registry-listen', `${c.advertiseAddr}:${c.registryPort}`,
    '--advertise-addr', c.advertiseAddr,
    ...(nodeId ? ['--node-id', nodeId] : []),
    ...(c.apiListen ? ['--api-listen', c.apiListen] : []),
    ...dockerSocketArgs(c),
    ...(managedEtcd ? ['--etcd-local', `https://127.0.0.1:${c.etcdClientPort}`] : []),
    ...(managedEtcd && c.etcdName ? ['--etcd-member', c.etcdName] : []),
  ]));
  list.push(p('agent', node, [
    path.join(dist, 'agent', 'main.js'),
    '--data-root', c.dataRoot,
    '--manager', [`${c.advertiseAddr}:${c.grpcPort}`, ...c.managers].join(','),
    '--advertise-addr', c.advertiseAddr,
    '--hostname', c.hostname,
    '--cgroup-parent', c.cgroupParent,
    ...usernsArgs(c),
    ...describeArgs(c),
    '--role', 'manager',
  ]));
  return list;
}

function main(): void {
  const args = parseFlags(process.argv.slice(2), ['data-root'], []);
  const dataRoot = flagString(args, 'data-root');
  if (!dataRoot) throw new Error('--data-root is required');
  const initial = readConfig(dataRoot);
  if (!initial) throw new Error(`no config in ${dataRoot}; run tsswarm init`);
  let config: HostConfig = initial;
  const logs = path.join(dataRoot, 'logs');
  fs.mkdirSync(logs, { recursive: true });
  let progs = programs(config);
  let stopping = false;
  /** Programs are being stopped on purpose (a role change): do not restart them. */
  let holding = false;

  const start = (p: Program) => {
    const out = fs.openSync(path.join(logs, `${p.name}.log`), 'a');
    const child = spawn(p.cmd, p.args, { stdio: ['ignore', out, out] });
    fs.closeSync(out);
    p.child = child;
    p.startedAt = Date.now();
    fs.writeFileSync(path.join(dataRoot, `${p.name}.pid`), `${child.pid ?? ''}\n`);
    child.on('exit', (code, sig) => {
      p.child = null;
      if (stopping || holding) return;
      if (code === EXIT_FATAL) {
        log.error(`${p.name} exited with a configuration error; not restarting it`);
        return;
      }
      if (code === EXIT_ROLE_CHANGE && p.name === 'agent') {
        void changeRole();
        return;
      }
      // Back off when a program keeps dying right after it starts.
      p.restarts = Date.now() - p.startedAt > 10000 ? 0 : p.restarts + 1;
      const delay = Math.min(5000, 100 * 2 ** Math.min(p.restarts, 6));
      log.warn(`${p.name} exited (${sig ?? code}); restarting in ${delay} ms`);
      // Not if a role change dropped the program meanwhile (a demoted host's etcd member exits as soon
      // as it is removed from the cluster, before the agent hands over).
      setTimeout(() => !stopping && !holding && progs.includes(p) && start(p), delay);
    });
  };

  /** Stops the programs, agent first and etcd last: each depends on the ones after it. */
  const stopAll = async () => {
    for (const p of [...progs].reverse()) {
      const c = p.child;
      if (!c || c.exitCode !== null) continue;
      const exited = new Promise<void>((r) => c.once('exit', () => r()));
      c.kill('SIGTERM');
      const t = setTimeout(() => c.kill('SIGKILL'), 10000);
      await exited;
      clearTimeout(t);
      fs.rmSync(path.join(dataRoot, `${p.name}.pid`), { force: true });
    }
  };

  /** `node promote|demote`: the agent left the change in role-change.json; restart in the new role. */
  const changeRole = async () => {
    const file = path.join(dataRoot, 'role-change.json');
    holding = true;
    try {
      const change = JSON.parse(fs.readFileSync(file, 'utf8')) as RoleChange;
      await stopAll();
      const next = applyRoleChange(config, change);
      // A demoted manager's etcd member was removed from the cluster; its data cannot rejoin.
      if (next.role === 'worker' && config.role === 'manager' && config.externalEtcd.length === 0) fs.rmSync(path.join(dataRoot, 'etcd'), { recursive: true, force: true });
      // A worker holds no cluster keys: the data key (and its KEK) go with the manager role.
      if (next.role === 'worker') for (const f of ['keys.json', 'kek']) fs.rmSync(path.join(dataRoot, 'manager', f), { force: true });
      writeConfig(next);
      config = next;
      fs.rmSync(file, { force: true });
      log.info(`this host is now a ${next.role}`);
    } catch (e) {
      log.error(`role change failed: ${(e as Error).message}; starting the programs as they were`);
    }
    progs = programs(config);
    holding = false;
    if (!stopping) for (const p of progs) start(p);
  };

  for (const p of progs) start(p);
  fs.writeFileSync(path.join(dataRoot, 'supervisor.pid'), `${process.pid}\n`);
  log.info(`supervising ${progs.map((p) => p.name).join(', ')}`);

  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await stopAll();
    fs.rmSync(path.join(dataRoot, 'supervisor.pid'), { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

main();
