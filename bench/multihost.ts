/**
 * Multi-host benchmark: 3 test hosts (network namespaces, as in the
 * integration tests), a stack with a client and `web` (busybox httpd).
 * Measures, from the command's start: deploy of 30 web tasks until every one
 * is reachable by name from the client (tasks.web lists 30 addresses and each
 * answers), scale 30 → 90 likewise, and stack rm of 90 until no task is left.
 * Root, after `npm run build`: node dist/bench/multihost.js [--runs 3] [--verbose]
 * The peer: bench/docker-swarm-multihost.sh.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { inContainer, TestHosts } from '../test/integration/harness/hosts';
import { median } from './stats';

interface TaskRow { service: string; desiredState: string; state: string; pid: number | null }

const verbose = process.argv.includes('--verbose');

const PROBE = fs.readFileSync(path.join(__dirname, '..', '..', 'bench', 'reach-probe.sh'), 'utf8');

/**
 * Probes from inside the client until tasks.web (over TCP DNS) lists exactly n
 * addresses and every one answers: bench/reach-probe.sh, the peer's probe too.
 */
function waitReachable(clientPid: number, n: number, deadline: number): void {
  const t0 = Date.now();
  let last = '';
  for (;;) {
    const out = inContainer(clientPid, ['sh', '-c', PROBE]).stdout.trim();
    if (verbose && out !== last) process.stderr.write(`  +${Date.now() - t0} ms probe: ${out}\n`);
    last = out;
    if (out === `${n} ${n}`) return;
    if (Date.now() > deadline) throw new Error(`web not reachable with ${n} tasks in time (last probe: ${out})`);
  }
}

function stack(replicas: number): string {
  return [
    'services:',
    // On every host before the timed part, so each has the image (as the peer's nodes do after docker load).
    '  warm:',
    '    image: busybox',
    '    command: ["sh", "-c", "while true; do sleep 1; done"]',
    '    stop_grace_period: 1s',
    '    deploy: { mode: global }',
    '  client:',
    '    image: busybox',
    '    command: ["sh", "-c", "while true; do sleep 1; done"]',
    '    stop_grace_period: 1s',
    '  web:',
    '    image: busybox',
    '    command: httpd -f -p 8080 -h /var/www',
    '    stop_grace_period: 1s',
    `    deploy: { replicas: ${replicas} }`,
    '',
  ].join('\n');
}

function main(): void {
  const i = process.argv.indexOf('--runs');
  const runs = i > 0 ? Number(process.argv[i + 1]) : 3;
  const deploy: number[] = [];
  const scale: number[] = [];
  const rm: number[] = [];
  for (let r = 0; r < runs; r++) {
    const hosts = new TestHosts(3);
    try {
      hosts.start();
      const m = hosts.manager;
      hosts.importBusybox();
      // The client (and the image on every host) first, so the timed part is web alone.
      const file = path.join(m.dataRoot, 'stack.yml');
      fs.writeFileSync(file, stack(0));
      hosts.ok(m, ['deploy', '-c', file, 'bench']);
      const client = hosts.json<TaskRow[]>(['service', 'ps', 'bench_client']).find((t) => t.state === 'running');
      if (client?.pid == null) throw new Error('the client task is not running');
      fs.writeFileSync(file, stack(30));
      // --detach, as the peer's `service create -d`: the probe is what waits.
      let t = Date.now();
      hosts.ok(m, ['deploy', '--detach', '-c', file, 'bench']);
      waitReachable(client.pid, 30, t + 120000);
      deploy.push(Date.now() - t);
      t = Date.now();
      hosts.ok(m, ['service', 'scale', '--detach', 'bench_web=90']);
      waitReachable(client.pid, 90, t + 180000);
      scale.push(Date.now() - t);
      t = Date.now();
      hosts.ok(m, ['stack', 'rm', 'bench']);
      rm.push(Date.now() - t);
    } finally {
      hosts.destroy();
    }
    process.stderr.write(`run ${r + 1}: deploy 0→30 reachable ${deploy.at(-1)} ms, scale 30→90 ${scale.at(-1)} ms, stack rm of 90 ${rm.at(-1)} ms\n`);
  }
  process.stdout.write(`${JSON.stringify({ date: new Date().toISOString().slice(0, 10), runs, deploy30Ms: median(deploy), scale90Ms: median(scale), rm90Ms: median(rm) })}\n`);
}

main();
