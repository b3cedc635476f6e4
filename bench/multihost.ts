/**
 * Multi-host benchmark: 3 test hosts (network namespaces, as in the
 * integration tests), a stack with a client and `web` (busybox httpd).
 * Measures, from the command's start: deploy of 30 web tasks until every one
 * is reachable by name from the client (tasks.web lists 30 addresses and each
 * answers), scale 30 → 90 likewise, and stack rm of 90 until no task is left.
 * Root, after `npm run build`: node dist/bench/multihost.js [--runs 3]
 * The peer: bench/docker-swarm-multihost.sh.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TestHosts } from '../test/integration/harness/hosts';

interface TaskRow { service: string; desiredState: string; state: string; pid: number | null }

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function inContainer(pid: number, args: string[]): { code: number; out: string } {
  const r = spawnSync('nsenter', ['-t', String(pid), '-m', '-u', '-i', '-n', '-p', '/bin/busybox', ...args], { encoding: 'utf8', timeout: 20000 });
  return { code: r.status ?? -1, out: r.stdout ?? '' };
}

/**
 * Polls until every web task address on the stack network answers the client
 * and the client resolves tasks.web. (90 A records do not fit a 512-byte UDP
 * answer, and busybox nslookup does not retry over TCP, so the addresses come
 * from `network inspect` and the name is checked to resolve.)
 */
function waitReachable(hosts: TestHosts, n: number, deadline: number): void {
  const client = hosts.json<TaskRow[]>(['service', 'ps', 'bench_client']).find((t) => t.state === 'running')!;
  const answered = new Set<string>();
  for (;;) {
    const net = JSON.parse(hosts.ok(hosts.manager, ['network', 'inspect', 'bench_default'])) as { containers: { task: string; address: string }[] }[];
    const ips = net[0]!.containers.filter((c) => c.task.startsWith('bench_web.')).map((c) => c.address.split('/')[0]!);
    const resolves = /^Address(?: \d+)?:\s*\d+\.\d+\.\d+\.\d+$/m.test(inContainer(client.pid!, ['nslookup', 'tasks.web']).out);
    if (ips.length === n && resolves) {
      // All at once, as the peer's check does.
      const todo = ips.filter((ip) => !answered.has(ip));
      const script = todo.map((ip) => `(wget -qO- http://${ip}:8080/ >/dev/null 2>&1 && echo ${ip}) &`).join(' ') + ' wait';
      for (const ip of inContainer(client.pid!, ['sh', '-c', script]).out.split('\n')) if (ip) answered.add(ip.trim());
      if (ips.every((ip) => answered.has(ip))) return;
    }
    if (Date.now() > deadline) throw new Error(`web not reachable with ${n} tasks in time (${ips.length} addresses, ${answered.size} answered)`);
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
      const img = path.join(m.dataRoot, 'busybox.tar');
      if (spawnSync('bash', [path.join(__dirname, '..', '..', 'scripts', 'make-busybox-image.sh'), img]).status !== 0) throw new Error('image build failed');
      hosts.ok(m, ['image', 'import', img, 'busybox:latest']);
      // The client (and the image on every host) first, so the timed part is web alone.
      const file = path.join(m.dataRoot, 'stack.yml');
      fs.writeFileSync(file, stack(0));
      hosts.ok(m, ['deploy', '-c', file, 'bench']);
      fs.writeFileSync(file, stack(30));
      let t = Date.now();
      hosts.ok(m, ['deploy', '-c', file, 'bench']);
      waitReachable(hosts, 30, t + 120000);
      deploy.push(Date.now() - t);
      t = Date.now();
      hosts.ok(m, ['service', 'scale', 'bench_web=90']);
      waitReachable(hosts, 90, t + 180000);
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
