/**
 * One etcd member of the test's own on loopback, on ports picked free, with
 * its data in a temporary directory: for tests of the store and election
 * that need a real etcd and no cluster. destroy() stops it by PID and removes
 * its directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Etcd3 } from 'etcd3';

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export class LocalEtcd {
  private child: ChildProcess | null = null;
  endpoint = '';

  private constructor(readonly dir: string) {}

  /** Starts the member and returns when it answers. */
  static async start(name: string): Promise<LocalEtcd> {
    const e = new LocalEtcd(fs.mkdtempSync(path.join(os.tmpdir(), `${name}-`)));
    try {
      await e.run();
    } catch (err) {
      await e.destroy();
      throw err;
    }
    return e;
  }

  private async run(): Promise<void> {
    const [client, peer] = [await freePort(), await freePort()];
    this.endpoint = `http://127.0.0.1:${client}`;
    const log = fs.openSync(path.join(this.dir, 'etcd.log'), 'a');
    this.child = spawn('etcd', [
      '--name', 'test',
      '--data-dir', path.join(this.dir, 'data'),
      '--listen-client-urls', this.endpoint,
      '--advertise-client-urls', this.endpoint,
      '--listen-peer-urls', `http://127.0.0.1:${peer}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
      '--initial-cluster', `test=http://127.0.0.1:${peer}`,
      '--grpc-keepalive-min-time', '1s',
      '--log-level', 'warn',
    ], { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    const c = new Etcd3({ hosts: [this.endpoint], dialTimeout: 1000 });
    try {
      for (let i = 0; ; i++) {
        if (this.child.exitCode !== null) throw new Error(`etcd exited ${this.child.exitCode}: ${this.log()}`);
        try {
          await c.get('probe').exec();
          return;
        } catch (err) {
          if (i >= 100) throw new Error(`etcd does not answer on ${this.endpoint}: ${(err as Error).message}`);
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    } finally {
      c.close();
    }
  }

  log(): string {
    try {
      return fs.readFileSync(path.join(this.dir, 'etcd.log'), 'utf8');
    } catch {
      return '';
    }
  }

  async destroy(): Promise<void> {
    const c = this.child;
    this.child = null;
    if (c && c.pid !== undefined && c.exitCode === null && c.signalCode === null) {
      const exited = new Promise<void>((r) => c.once('exit', () => r()));
      process.kill(c.pid, 'SIGTERM');
      const t = setTimeout(() => c.pid !== undefined && c.exitCode === null && process.kill(c.pid, 'SIGKILL'), 10000);
      await exited;
      clearTimeout(t);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
