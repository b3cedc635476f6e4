/**
 * Image pull benchmark, our side and skopeo's in the same run: a real
 * docker-registry on a test host's address, a fresh ~100 MB image of 5
 * layers (bench/random-image.ts: busybox and 4 random 25 MB layers, gzip)
 * pushed to it by skopeo before each run, then, in turns that alternate which
 * goes first:
 *   pullMs     `tsswarm image pull` on a one-host cluster (the manager fetches,
 *              verifies and stores every layer), CLI wall time;
 *   skopeoMs   `skopeo copy docker://… oci:DIR` (fetches and verifies into a
 *              directory: the floor of a pull, with nothing unpacked or stored).
 *   deploy3Ms  the same image's sibling (another fresh image) run as a service
 *              with one replica on each of 3 hosts, from `service create` until
 *              all 3 run: the manager pulls once, the agents from the cluster registry.
 * Root, after `npm run build`: node dist/bench/image-pull.js [--runs 3]
 * The peer: bench/docker-image-pull.sh (docker pull; docker service create on 3 dockerds).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TestHosts, type TestHost } from '../test/integration/harness/hosts';
import { randomImage } from './random-image';
import { median } from './stats';

interface TaskRow { desiredState: string; state: string }

function timed(f: () => void): number {
  const t = process.hrtime.bigint();
  f();
  return Number((process.hrtime.bigint() - t) / 1_000_000n);
}

function must(hosts: TestHosts, h: TestHost, cmd: string, args: string[]): void {
  const r = hosts.exec(h, cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--runs');
  const runs = i > 0 ? Number(process.argv[i + 1]) : 3;
  const pull: number[] = [];
  const skopeo: number[] = [];
  const deploy: number[] = [];
  let bytes = 0;
  const hosts = new TestHosts(3);
  let registry: ReturnType<typeof spawn> | null = null;
  try {
    hosts.start();
    const m = hosts.manager;
    const work = path.join(hosts.root, 'bench');
    fs.mkdirSync(work);
    const reg = `${m.addr}:5000`;
    fs.writeFileSync(path.join(work, 'registry.yml'), ['version: 0.1', 'log: { level: error }', 'storage:', `  filesystem: { rootdirectory: ${work}/data }`, 'http:', `  addr: ${reg}`, ''].join('\n'));
    registry = spawn('nsenter', [`--net=/run/netns/${m.netns}`, 'docker-registry', 'serve', path.join(work, 'registry.yml')], { stdio: 'ignore' });
    for (let n = 0; n < 100 && hosts.exec(m, 'timeout', ['2', 'busybox', 'wget', '-qO-', `http://${reg}/v2/`]).code !== 0; n++) spawnSync('sleep', ['0.2']);
    hosts.ok(m, ['update', '--insecure-registry', reg]);
    for (let r = 0; r < runs; r++) {
      const image = (name: string) => {
        const dir = path.join(work, `${name}${r}`);
        bytes = randomImage(dir, 'v').bytes;
        must(hosts, m, 'skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${dir}:v`, `docker://${reg}/bench/${name}${r}:1`]);
        fs.rmSync(dir, { recursive: true, force: true });
        return `${reg}/bench/${name}${r}:1`;
      };
      const ref = image('big');
      const ours = () => pull.push(timed(() => hosts.ok(m, ['image', 'pull', '-q', ref])));
      const theirs = () => {
        const out = path.join(work, `skopeo${r}`);
        skopeo.push(timed(() => must(hosts, m, 'skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `oci:${out}:v`])));
        fs.rmSync(out, { recursive: true, force: true });
      };
      if (r % 2 === 0) { ours(); theirs(); } else { theirs(); ours(); }

      const spread = image('spread');
      const t = Date.now();
      hosts.ok(m, ['service', 'create', '--detach', '--name', `spread${r}`, '--replicas', '3', '--replicas-max-per-node', '1', '--stop-grace-period', '1s', spread, 'sleep', '1000']);
      for (;;) {
        const running = hosts.json<TaskRow[]>(['service', 'ps', `spread${r}`]).filter((x) => x.desiredState === 'running' && x.state === 'running').length;
        if (running === 3) break;
        if (Date.now() - t > 300_000) throw new Error('the 3 replicas did not run within 5 minutes');
        await new Promise((res) => setTimeout(res, 50));
      }
      deploy.push(Date.now() - t);
      hosts.ok(m, ['service', 'rm', `spread${r}`]);
      process.stderr.write(`run ${r + 1}: image pull ${pull.at(-1)} ms, skopeo copy ${skopeo.at(-1)} ms, 3 hosts running ${deploy.at(-1)} ms (${(bytes / 1e6).toFixed(1)} MB)\n`);
    }
  } finally {
    if (registry?.pid) registry.kill('SIGKILL');
    hosts.destroy();
  }
  process.stdout.write(`${JSON.stringify({ date: new Date().toISOString().slice(0, 10), runs, imageMB: Math.round(bytes / 1e5) / 10, pullMs: median(pull), skopeoMs: median(skopeo), deploy3Ms: median(deploy), pullMsAll: pull, skopeoMsAll: skopeo, deploy3MsAll: deploy })}\n`);
}

void main().catch((e: unknown) => {
  process.stderr.write(`image-pull: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
