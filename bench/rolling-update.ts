/**
 * Rolling update benchmark: 3 test hosts (network namespaces, as the integration tests), a service
 * of 30 replicas (a shell that exits at once on SIGTERM, stop grace 1 s), update_config parallelism
 * 5, delay 0, monitor 1 s. Measured from the command's start until the service's update state says
 * it is done (which both sides reach only after the monitor period of the last tasks):
 *   startFirstMs  `service update --detach --env-add V=2` with order start-first → completed;
 *   stopFirstMs   the same with order stop-first (V=3) → completed;
 *   rollbackMs    `service rollback --detach` → rollback_completed.
 * Root, after `npm run build`: node dist/bench/rolling-update.js [--runs 3]
 * The peer: bench/docker-swarm-rolling-update.sh.
 */
import { TestHosts, type TestHost } from '../test/integration/harness/hosts';
import { UNTIL_TERM } from '../test/integration/harness/stacks';
import { median } from './stats';

interface ServiceRow { name: string; running: number; desired: number; upToDate: number; update: { state: string } | null }

const REPLICAS = 30;
const UPDATE = ['--update-parallelism', '5', '--update-delay', '0s', '--update-monitor', '1s'];

function waitState(hosts: TestHosts, m: TestHost, state: string, t0: number): number {
  for (;;) {
    const s = hosts.json<ServiceRow[]>(['service', 'ls'], m).find((x) => x.name === 'web');
    if (s?.update?.state === state && s.running === REPLICAS && s.upToDate === REPLICAS) return Date.now() - t0;
    if (s?.update?.state === 'paused' || s?.update?.state === 'rollback_paused') throw new Error(`update paused: ${JSON.stringify(s)}`);
    if (Date.now() - t0 > 600_000) throw new Error(`no ${state} after 10 minutes: ${JSON.stringify(s)}`);
  }
}

function main(): void {
  const i = process.argv.indexOf('--runs');
  const runs = i > 0 ? Number(process.argv[i + 1]) : 3;
  const startFirst: number[] = [];
  const stopFirst: number[] = [];
  const rollback: number[] = [];
  for (let r = 0; r < runs; r++) {
    const hosts = new TestHosts(3);
    try {
      hosts.start();
      const m = hosts.manager;
      hosts.importBusybox();
      hosts.ok(m, ['service', 'create', '--name', 'web', '--replicas', String(REPLICAS), '--stop-grace-period', '1s', '--env', 'V=1', ...UPDATE, 'busybox', ...UNTIL_TERM]);
      let t = Date.now();
      hosts.ok(m, ['service', 'update', '--detach', '--update-order', 'start-first', '--env-add', 'V=2', 'web']);
      startFirst.push(waitState(hosts, m, 'completed', t));
      t = Date.now();
      hosts.ok(m, ['service', 'update', '--detach', '--update-order', 'stop-first', '--env-add', 'V=3', 'web']);
      stopFirst.push(waitState(hosts, m, 'completed', t));
      t = Date.now();
      hosts.ok(m, ['service', 'rollback', '--detach', 'web']);
      rollback.push(waitState(hosts, m, 'rollback_completed', t));
    } finally {
      hosts.destroy();
    }
    process.stderr.write(`run ${r + 1}: start-first ${startFirst.at(-1)} ms, stop-first ${stopFirst.at(-1)} ms, rollback ${rollback.at(-1)} ms\n`);
  }
  process.stdout.write(`${JSON.stringify({ date: new Date().toISOString().slice(0, 10), runs, startFirstMs: median(startFirst), stopFirstMs: median(stopFirst), rollbackMs: median(rollback) })}\n`);
}

main();
