/**
 * Several test "hosts" on one machine: each host is a network namespace with
 * its own address on a test bridge (itself in a namespace of its own), with
 * its own data root and cgroup parent. Host 1 runs etcd, the manager and an
 * agent (`tsswarm init`); the others run an agent (`tsswarm join`). Programs
 * enter only the host's network namespace (nsenter --net), not a mount
 * namespace: `ip netns exec` would remount /sys and hide the cgroup mounts.
 * Only addresses of namespaces made here are used; destroy() removes them all.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { makeBusyboxImage, repoRoot, type CliResult } from './cluster';
import { cgroupDirs, mountsMentioning, processesMentioning, removeLeftovers } from './leftovers';

const cliPath = path.join(repoRoot, 'dist', 'cli', 'main.js');

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr.trim()}`);
}

/** Runs busybox `args` inside a container: all its namespaces (its /etc/resolv.conf, its busybox). */
export function inContainer(pid: number, args: string[]): CliResult {
  const r = spawnSync('nsenter', ['-t', String(pid), '-m', '-u', '-i', '-n', '-p', '/bin/busybox', ...args], { encoding: 'utf8', timeout: 20000 });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export interface TestHost {
  index: number;
  name: string;
  netns: string;
  addr: string;
  dataRoot: string;
  cgroupParent: string;
}

export class TestHosts {
  readonly tag: string;
  readonly hosts: TestHost[] = [];
  readonly switchNs: string;
  readonly subnet = '10.213.0';
  readonly root: string;

  /** `existing` re-attaches to hosts made earlier (scripts/dev-cluster.ts down). */
  constructor(readonly count: number, existing: { tag: string; root: string } | null = null) {
    this.tag = existing?.tag ?? randomBytes(3).toString('hex');
    this.switchNs = `tsw-${this.tag}-sw`;
    this.root = existing?.root ?? fs.mkdtempSync(path.join(os.tmpdir(), `tsswarm-hosts-${this.tag}-`));
    for (let i = 1; i <= count; i++) {
      this.hosts.push({
        index: i,
        name: `host${i}`,
        netns: `tsw-${this.tag}-h${i}`,
        addr: `${this.subnet}.${i}`,
        dataRoot: path.join(this.root, `host${i}`),
        cgroupParent: `tsswarm-${this.tag}-h${i}`,
      });
    }
  }

  get manager(): TestHost {
    return this.hosts[0]!;
  }

  /** Makes the namespaces and the test network (a bridge in the switch namespace). */
  createNetwork(): void {
    sh('ip', ['netns', 'add', this.switchNs]);
    sh('ip', ['-n', this.switchNs, 'link', 'add', 'br0', 'type', 'bridge']);
    sh('ip', ['-n', this.switchNs, 'link', 'set', 'br0', 'up']);
    for (const h of this.hosts) {
      sh('ip', ['netns', 'add', h.netns]);
      sh('ip', ['-n', h.netns, 'link', 'set', 'lo', 'up']);
      // One veth per host: eth0 inside the host, its peer on the switch's bridge.
      sh('ip', ['-n', this.switchNs, 'link', 'add', `p${h.index}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.netns]);
      sh('ip', ['-n', this.switchNs, 'link', 'set', `p${h.index}`, 'master', 'br0', 'up']);
      sh('ip', ['-n', h.netns, 'addr', 'add', `${h.addr}/24`, 'dev', 'eth0']);
      sh('ip', ['-n', h.netns, 'link', 'set', 'eth0', 'up']);
    }
  }

  /** Runs the tsswarm CLI on a host (in its network namespace), talking to host 1's manager. */
  cli(h: TestHost, args: string[], input?: string): CliResult {
    const r = spawnSync('nsenter', [`--net=/run/netns/${h.netns}`, process.execPath, cliPath, ...args], {
      cwd: repoRoot,
      ...(input === undefined ? {} : { input }),
      env: { ...process.env, TSSWARM_HOST: path.join(this.manager.dataRoot, 'api.sock') },
      encoding: 'utf8',
      timeout: 180000,
    });
    return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  /**
   * Starts the CLI in the background (`events`, `service logs -f`): the lines it prints on stdout
   * and on stderr as they come, its exit code once it ends, and a stop that kills it. The caller
   * stops it, also when the test fails.
   */
  follow(args: string[]): { lines: string[]; errLines: string[]; exited: Promise<number | null>; stop: () => void } {
    const child = spawn(process.execPath, [cliPath, ...args], { cwd: repoRoot, env: { ...process.env, TSSWARM_HOST: path.join(this.manager.dataRoot, 'api.sock') }, stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (stream: NodeJS.ReadableStream, into: string[]) => {
      let rest = '';
      stream.setEncoding('utf8');
      stream.on('data', (t: string) => {
        rest += t;
        const parts = rest.split('\n');
        rest = parts.pop() ?? '';
        into.push(...parts);
      });
    };
    const lines: string[] = [];
    const errLines: string[] = [];
    collect(child.stdout, lines);
    collect(child.stderr, errLines);
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    return { lines, errLines, exited, stop: () => void child.kill('SIGKILL') };
  }

  ok(h: TestHost, args: string[]): string {
    const r = this.cli(h, args);
    if (r.code !== 0) throw new Error(`[${h.name}] tsswarm ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  json<T>(args: string[], h: TestHost = this.manager): T {
    return JSON.parse(this.ok(h, [...args, '--format', 'json'])) as T;
  }

  /** Runs a command inside a host's network namespace. */
  exec(h: TestHost, cmd: string, args: string[]): CliResult {
    const r = spawnSync('nsenter', [`--net=/run/netns/${h.netns}`, cmd, ...args], { encoding: 'utf8', timeout: 60000 });
    return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  /**
   * etcdctl against a manager host's etcd member, with that host's etcd certificate (the only
   * credential its etcd accepts), as an operator on that host would.
   */
  etcdctl(h: TestHost, args: string[]): CliResult {
    const certs = path.join(h.dataRoot, 'certificates');
    return this.exec(h, 'etcdctl', ['--endpoints', `https://${h.addr}:2379`, '--cacert', path.join(certs, 'ca.pem'), '--cert', path.join(certs, 'etcd.pem'), '--key', path.join(certs, 'etcd.key'), ...args]);
  }

  initManager(extra: string[] = []): void {
    const m = this.manager;
    this.ok(m, ['init', '--data-root', m.dataRoot, '--advertise-addr', m.addr, '--cgroup-parent', m.cgroupParent, '--hostname', m.name, ...extra]);
  }

  joinArgs(h: TestHost, token: string, managerAddr: string): string[] {
    return ['join', '--token', token, managerAddr, '--data-root', h.dataRoot, '--advertise-addr', h.addr, '--cgroup-parent', h.cgroupParent, '--hostname', h.name];
  }

  joinToken(role: 'worker' | 'manager' = 'worker'): { token: string; managerAddr: string } {
    const out = this.ok(this.manager, ['join-token', role]);
    const m = /tsswarm join --token (\S+) (\S+)/.exec(out);
    if (!m) throw new Error(`unexpected join-token output: ${out}`);
    return { token: m[1]!, managerAddr: m[2]! };
  }

  /** Hosts 2..managers join as managers, the rest as workers. */
  joinWorkers(managers = 1): void {
    const m = this.joinToken('manager');
    const w = this.joinToken('worker');
    this.hosts.slice(1).forEach((h, i) => {
      const { token, managerAddr } = i + 1 < managers ? m : w;
      this.ok(h, this.joinArgs(h, token, managerAddr));
    });
  }

  /** The API socket of a manager host (`--host` for the CLI). */
  api(h: TestHost): string {
    return path.join(h.dataRoot, 'api.sock');
  }

  /** Builds the busybox test image (scripts/make-busybox-image.sh) and imports it as busybox:latest. */
  importBusybox(): void {
    this.ok(this.manager, ['image', 'import', makeBusyboxImage(this.manager.dataRoot), 'busybox:latest']);
  }

  /** The whole cluster: network, the first manager, the other managers, the workers. */
  start(managers = 1, initArgs: string[] = []): void {
    this.createNetwork();
    this.initManager(initArgs);
    this.joinWorkers(managers);
  }

  /** PIDs whose command line names the test's directory. */
  processes(): number[] {
    return processesMentioning(this.root);
  }

  mounts(): string[] {
    return mountsMentioning(this.root);
  }

  /** PIDs of the host's containers: every process in its cgroup tree. */
  containerPids(h: TestHost): number[] {
    const pids = new Set<number>();
    for (const dir of cgroupDirs(h.cgroupParent)) {
      const walk = (d: string): void => {
        try {
          for (const line of fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8').split('\n')) if (line) pids.add(Number(line));
          for (const sub of fs.readdirSync(d, { withFileTypes: true })) if (sub.isDirectory()) walk(path.join(d, sub.name));
        } catch {
          // removed meanwhile
        }
      };
      walk(dir);
    }
    return [...pids];
  }

  /** PIDs of everything a host runs: its programs (command lines naming its data root) and its containers. */
  hostPids(h: TestHost): number[] {
    return [...new Set([...processesMentioning(h.dataRoot), ...this.containerPids(h)])];
  }

  /** Cuts the host off the test network (its port on the switch goes down), or puts it back. */
  setLink(h: TestHost, up: boolean): void {
    sh('ip', ['-n', this.switchNs, 'link', 'set', `p${h.index}`, up ? 'up' : 'down']);
  }

  /** A power cut: the host's link goes down and every one of its processes gets SIGKILL. */
  killHost(h: TestHost): void {
    this.setLink(h, false);
    // Until none is left: the supervisor could restart the agent between two reads.
    for (let round = 0; round < 50; round++) {
      const pids = this.hostPids(h);
      if (pids.length === 0) return;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      spawnSync('sleep', ['0.1']);
    }
    throw new Error(`${h.name}: processes still alive after SIGKILL: ${this.hostPids(h).join(' ')}`);
  }

  /** Stops every host and removes everything: processes, mounts, cgroups, namespaces, files. */
  destroy(): void {
    // TSSWARM_TEST_KEEP_LOGS=DIR: keep every host's logs (debugging a failed run).
    const keep = process.env.TSSWARM_TEST_KEEP_LOGS;
    if (keep) for (const h of this.hosts) fs.cpSync(path.join(h.dataRoot, 'logs'), path.join(keep, this.tag, h.name), { recursive: true, force: true });
    for (const h of [...this.hosts].reverse()) {
      if (fs.existsSync(path.join(h.dataRoot, 'config.json'))) this.cli(h, ['down', '--data-root', h.dataRoot]);
    }
    removeLeftovers(this.root, this.hosts.map((h) => h.cgroupParent));
    for (const ns of [...this.hosts.map((h) => h.netns), this.switchNs]) spawnSync('ip', ['netns', 'del', ns]);
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}
