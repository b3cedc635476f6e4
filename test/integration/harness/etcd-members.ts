/**
 * An external etcd cluster for `tsswarm init --etcd-endpoints`: one member
 * per test host, inside the host's network namespace, on the host's own
 * address, with TLS from a CA of its own (an operator's, not the cluster's):
 * clients and peers must present a certificate from it. `clientFlags` are the
 * init flags that hand tsswarm a client certificate. Members can be stopped and
 * started again on their data. destroy() stops them; TestHosts.destroy()
 * removes their files with the rest.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TestHost, TestHosts } from './hosts';
import { createRootCa, issueLeaf, newKeyAndCsr } from '../../../shared/pki/issue';

export class EtcdMembers {
  private readonly procs = new Map<number, ChildProcess>();

  private constructor(private readonly hosts: TestHosts) {}

  private get certDir(): string {
    return path.join(this.hosts.root, 'etcd-ca');
  }

  /** The members' CA, a certificate per member (server and peer) and one for tsswarm (client). */
  static async create(hosts: TestHosts): Promise<EtcdMembers> {
    const e = new EtcdMembers(hosts);
    const dir = e.certDir;
    fs.mkdirSync(dir, { recursive: true });
    const root = await createRootCa('external-etcd-ca', 24 * 3600_000);
    fs.writeFileSync(path.join(dir, 'ca.pem'), root.certPem);
    const leaf = async (name: string, ips: string[]) => {
      const k = await newKeyAndCsr();
      const cert = await issueLeaf(root, { csrPem: k.csrPem, commonName: name, role: 'client', clusterId: 'external', ips, validityMs: 24 * 3600_000 });
      fs.writeFileSync(path.join(dir, `${name}.pem`), cert);
      fs.writeFileSync(path.join(dir, `${name}.key`), k.keyPem, { mode: 0o600 });
    };
    for (const h of hosts.hosts) await leaf(h.name, [h.addr]);
    await leaf('client', []);
    return e;
  }

  /** `tsswarm init` flags for this cluster's TLS. */
  get clientFlags(): string[] {
    const f = (n: string) => path.join(this.certDir, n);
    return ['--etcd-cacert', f('ca.pem'), '--etcd-cert', f('client.pem'), '--etcd-key', f('client.key')];
  }

  private dataDir(h: TestHost): string {
    return path.join(this.hosts.root, `etcd-${h.name}`);
  }

  get endpoints(): string[] {
    return this.hosts.hosts.map((h) => `https://${h.addr}:2379`);
  }

  start(h: TestHost): void {
    if (this.procs.has(h.index)) throw new Error(`etcd on ${h.name} already runs`);
    const cluster = this.hosts.hosts.map((x) => `${x.name}=https://${x.addr}:2380`).join(',');
    const f = (n: string) => path.join(this.certDir, n);
    const tls = [
      '--cert-file', f(`${h.name}.pem`), '--key-file', f(`${h.name}.key`), '--trusted-ca-file', f('ca.pem'), '--client-cert-auth',
      '--peer-cert-file', f(`${h.name}.pem`), '--peer-key-file', f(`${h.name}.key`), '--peer-trusted-ca-file', f('ca.pem'), '--peer-client-cert-auth',
      '--enable-grpc-gateway=false',
    ];
    fs.mkdirSync(this.hosts.root, { recursive: true });
    const log = fs.openSync(path.join(this.hosts.root, `etcd-${h.name}.log`), 'a');
    const child = spawn('nsenter', [
      `--net=/run/netns/${h.netns}`, 'etcd',
      '--name', h.name,
      '--data-dir', this.dataDir(h),
      '--listen-client-urls', `https://${h.addr}:2379`,
      '--advertise-client-urls', `https://${h.addr}:2379`,
      '--listen-peer-urls', `https://${h.addr}:2380`,
      '--initial-advertise-peer-urls', `https://${h.addr}:2380`,
      ...tls,
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
