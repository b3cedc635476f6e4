/** What `init` decided for this host, kept in <data-root>/config.json so restarts reuse it. */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RoleWire } from '../../shared/proto/role';

export interface HostConfig {
  dataRoot: string;
  /** A manager host runs etcd (unless external), a manager and an agent; a worker only an agent. */
  role: 'manager' | 'worker';
  /** Dispatcher addresses (`IP:PORT`) a worker's agent connects to. */
  managers: string[];
  /** No longer used (a node proves who it is with its certificate); kept so older config files read. */
  joinToken: string | null;
  advertiseAddr: string;
  /** Empty when the managers run etcd themselves (one member per manager host). */
  externalEtcd: string[];
  /** A manager that joined: its etcd member's name, the --initial-cluster it started with, and the
   * other members' client URLs its manager uses until its own member is a voter. */
  etcdName?: string;
  etcdInitialCluster?: string;
  etcdMembers?: string[];
  etcdClientPort: number;
  etcdPeerPort: number;
  grpcPort: number;
  registryPort: number;
  cgroupParent: string;
  hostname: string;
  /** `--listen-api tcp://ADDR:PORT`: the API on TCP too, for client certificates (`ADDR:PORT`; absent: off). */
  apiListen?: string;
  /** `--userns-remap`: the user and its subordinate ranges containers' ids are mapped onto (null: none). */
  usernsRemap?: { user: string; uid: number; gid: number; size: number } | null;
  /** `--label K=V`: the agent's engine labels (constraints `engine.labels.K`). */
  engineLabels?: Record<string, string>;
  /** `--generic-resource KIND=N`: what the node offers to reservations of generic resources. */
  genericResources?: Record<string, number>;
  /** `--docker-socket PATH`: the Docker Engine API also on this socket (e.g. /var/run/docker.sock; absent: only <data root>/docker.sock). */
  dockerSocket?: string;
}

/** A promotion or demotion as the manager sent it (dispatcher.proto HostRole). */
export type RoleChange = RoleWire;

/** Default ports of a promoted host (the manager prepared its etcd member on the peer port). */
const MANAGER_PORTS = { etcdClientPort: 2379, etcdPeerPort: 2380, grpcPort: 4242, registryPort: 4243 };

/** The host's configuration in its new role. */
export function applyRoleChange(c: HostConfig, change: RoleChange): HostConfig {
  const managers = change.managers.length ? change.managers : c.managers;
  const { etcdName: _n, etcdInitialCluster: _i, etcdMembers: _m, ...rest } = c;
  if (change.role === 'worker') return { ...rest, role: 'worker', managers, externalEtcd: [], etcdClientPort: 0, etcdPeerPort: 0, grpcPort: 0, registryPort: 0 };
  if (change.role !== 'manager') throw new Error(`unknown role ${change.role}`);
  const etcd = change.etcd_managed
    ? { externalEtcd: [], etcdName: change.etcd_name, etcdInitialCluster: change.etcd_initial_cluster, etcdMembers: change.etcd_endpoints }
    : { externalEtcd: change.etcd_endpoints };
  return { ...rest, ...MANAGER_PORTS, ...etcd, role: 'manager', managers };
}

export function configPath(dataRoot: string): string {
  return path.join(dataRoot, 'config.json');
}

export function readConfig(dataRoot: string): HostConfig | null {
  try {
    const c = JSON.parse(fs.readFileSync(configPath(dataRoot), 'utf8')) as Partial<HostConfig>;
    return { role: 'manager', managers: [], joinToken: null, ...c } as HostConfig;
  } catch {
    return null;
  }
}

export function writeConfig(c: HostConfig): void {
  fs.mkdirSync(c.dataRoot, { recursive: true, mode: 0o700 });
  const tmp = `${configPath(c.dataRoot)}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(c, null, 2)}\n`);
  fs.renameSync(tmp, configPath(c.dataRoot));
}

export function etcdEndpoints(c: HostConfig): string[] {
  if (c.externalEtcd.length) return c.externalEtcd;
  return c.etcdMembers?.length ? c.etcdMembers : [`https://127.0.0.1:${c.etcdClientPort}`];
}

/** The preferred port when it is free, else one the kernel picks. */
export function freePort(preferred: number, host = '127.0.0.1'): Promise<number> {
  const tryPort = (p: number) =>
    new Promise<number | null>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(null));
      srv.listen(p, host, () => {
        const port = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(port));
      });
    });
  return tryPort(preferred).then((p) => p ?? tryPort(0).then((q) => q ?? preferred));
}

/** Like Docker: the address of the first non-internal IPv4 interface, else loopback. */
export function defaultAdvertiseAddr(): string {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}
