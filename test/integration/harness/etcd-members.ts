/**
 * An external etcd cluster for `tsswarm init --etcd-endpoints`: one member
 * per test host, inside the host's network namespace, on the host's own
 * address. Members can be stopped and started again on their data.
 * destroy() stops them; TestHosts.destroy() removes their files with the rest.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TestHost, TestHosts } from './hosts';

export class EtcdMembers {
  private readonly procs = new Map<number, ChildProcess>();

  constructor(private readonly hosts: TestHosts) {}

  private dataDir(h: TestHost): string {
    return path.join(this.hosts.root, `etcd-${h.name}`);
  }

  get endpoints(): string[] {
    return this.hosts.hosts.map((h) => `http://${h.addr}:2379`);
  }

  start(h: TestHost): void {
    if (this.procs.has(h.index)) throw new Error(`etcd on ${h.name} already runs`);
    const cluster = this.hosts.hosts.map((x) => `${x.name}=http://${x.addr}:2380`).join(',');
    fs.mkdirSync(this.hosts.root, { recursive: true });
    const log = fs.openSync(path.join(this.hosts.root, `etcd-${h.name}.log`), 'a');
    const child = spawn('nsenter', [
      `--net=/run/netns/${h.netns}`, 'etcd',
      '--name', h.name,
      '--data-dir', this.dataDir(h),
      '--listen-client-urls', `http://${h.addr}:2379`,
      '--advertise-client-urls', `http://${h.addr}:2379`,
      '--listen-peer-urls', `http://${h.addr}:2380`,
      '--initial-advertise-peer-urls', `http://${h.addr}:2380`,
      '--initial-cluster', cluster,
      '--initial-cluster-state', 'new',
      '--heartbeat-interval', '100',
      '--election-timeout', '1000',
      '--grpc-keepalive-min-time', '1s',
      '--log-level', 'warn',
    ], { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    this.procs.set(h.index, child);
  }

  /** SIGTERM and wait for the member to exit. */
  async stop(h: TestHost): Promise<void> {
    const c = this.procs.get(h.index);
    if (!c) return;
    this.procs.delete(h.index);
    if (c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 10000);
    await exited;
    clearTimeout(t);
  }

  async destroy(): Promise<void> {
    for (const h of this.hosts.hosts) await this.stop(h);
  }
}
