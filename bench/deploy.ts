/**
 * Deploy benchmark: on a fresh one-host cluster, time `tsswarm deploy` of a
 * stack with N replicas of the busybox httpd until N/N run, and scaling
 * 10 → N. Run as root after `npm run build`:
 *   node dist/bench/deploy.js [--replicas 100] [--runs 3]
 * The peer (Docker Swarm) is measured by bench/docker-swarm-deploy.sh when docker.io is installed.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TestCluster } from '../test/integration/harness/cluster';
import { median } from './stats';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

function timed(f: () => void): number {
  const t = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

function stack(replicas: number): string {
  return `services:\n  web:\n    image: busybox\n    command: httpd -f -p 8080 -h /var/www\n    stop_grace_period: 1s\n    deploy:\n      replicas: ${replicas}\n`;
}

function main(): void {
  const replicas = arg('replicas', 100);
  const runs = arg('runs', 3);
  const deploys: number[] = [];
  const scales: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c = new TestCluster('tsswarm-bench');
    try {
      c.init();
      c.importBusybox();
      const dir = path.join(c.dataRoot, 'stack');
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'full.yml'), stack(replicas));
      fs.writeFileSync(path.join(dir, 'ten.yml'), stack(10));
      deploys.push(timed(() => c.ok(['deploy', '-c', path.join(dir, 'full.yml'), 'bench'])));
      c.ok(['stack', 'rm', 'bench']);
      c.ok(['deploy', '-c', path.join(dir, 'ten.yml'), 'bench']);
      scales.push(timed(() => c.ok(['service', 'scale', `bench_web=${replicas}`])));
      c.ok(['stack', 'rm', 'bench']);
    } finally {
      c.destroy();
    }
    process.stderr.write(`run ${i + 1}: deploy 0→${replicas} ${deploys.at(-1)!.toFixed(0)} ms, scale 10→${replicas} ${scales.at(-1)!.toFixed(0)} ms\n`);
  }
  const cpu = spawnSync('sh', ['-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], { encoding: 'utf8' }).stdout.trim();
  const out = {
    date: new Date().toISOString().slice(0, 10),
    machine: `${cpu}, ${spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()} cores`,
    replicas,
    runs,
    deployMedianMs: Math.round(median(deploys)),
    scaleMedianMs: Math.round(median(scales)),
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main();
