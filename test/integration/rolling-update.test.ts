/**
 * The service lifecycle on three test hosts, by the real CLI: rolling updates within their
 * bounds (start-first and stop-first), an update whose new tasks fail rolled back or paused,
 * restart policies (on-failure with exit 0, max_attempts), and health checks (a task is healthy
 * before an update moves on, an unhealthy one is replaced). Bounds are checked by sampling the
 * tasks all through an update; the tests assert what happens, never how long it takes.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { requireRoot } from './harness/root';
import { inContainer, TestHosts, type TestHost } from './harness/hosts';
import { eventually } from './harness/cluster';
import { UNTIL_TERM, versionedStack } from './harness/stacks';

interface TaskRow { id: string; name: string; service: string; slot: number | null; node: string | null; desiredState: string; state: string; error: string | null; pid: number | null; health: string | null; current: boolean; exitCode: number | null }
interface UpdateStatus { state: string; message: string; startedAt: string; completedAt: string | null }
interface ServiceRow { name: string; running: number; desired: number; upToDate: number; update: UpdateStatus | null; waitingFor: string | null }
interface ServiceRecord { specVersion: number; spec: { task: { container: { env: string[]; command: string[] | null } } }; previousSpec: unknown; updateStatus: UpdateStatus | null }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('rolling updates, restart policies and health checks', () => {
  let hosts: TestHosts;
  let m: TestHost;

  const tasks = (service: string) => hosts.json<TaskRow[]>(['service', 'ps', service]);
  const live = (service: string) => tasks(service).filter((t) => t.desiredState === 'running' && t.state === 'running');
  const svc = (name: string) => hosts.json<ServiceRow[]>(['service', 'ls']).find((s) => s.name === name);
  const record = (name: string) => hosts.json<ServiceRecord[]>(['service', 'inspect', name])[0]!;
  const writeStack = (stack: string, text: string) => {
    const file = path.join(m.dataRoot, `${stack}.yml`);
    fs.writeFileSync(file, text);
    return file;
  };
  const loopStack = versionedStack;

  /**
   * Runs `start` (which begins an update and returns at once), then samples the service's running
   * tasks until the update ends: the lowest and highest counts seen, and the last status.
   */
  const watchUpdate = async (service: string, start: () => void) => {
    start();
    let low = Infinity;
    let high = 0;
    const deadline = Date.now() + 120_000;
    for (;;) {
      const n = live(service).length;
      low = Math.min(low, n);
      high = Math.max(high, n);
      const s = svc(service)!;
      if (s.update !== null && !['updating', 'rollback_started'].includes(s.update.state) && s.running === s.desired) return { low, high, status: s.update, service: s };
      if (Date.now() > deadline) throw new Error(`update of ${service} did not end: ${JSON.stringify(s)}`);
      await sleep(50);
    }
  };

  before(() => {
    requireRoot();
    hosts = new TestHosts(3);
    m = hosts.manager;
    hosts.start();
    hosts.importBusybox();
  });

  after(() => {
    hosts?.destroy();
  });

  describe('start-first, parallelism 2, delay', () => {
    const update = ['parallelism: 2', 'delay: 1s', 'order: start-first'];
    before(() => {
      hosts.ok(m, ['deploy', '-c', writeStack('sf', loopStack(1, 6, update)), 'sf']);
    });

    it('never runs fewer than desired nor more than desired + parallelism, and ends completed', async () => {
      const r = await watchUpdate('sf_web', () => hosts.ok(m, ['deploy', '--detach', '-c', writeStack('sf', loopStack(2, 6, update)), 'sf']));
      assert.ok(r.low >= 6, `at least 6 running all through (lowest ${r.low})`);
      assert.ok(r.high <= 8, `at most 8 running (highest ${r.high})`);
      assert.equal(r.status.state, 'completed', r.status.message);
      assert.ok(r.status.completedAt !== null);
      const now = live('sf_web');
      assert.equal(now.length, 6);
      assert.ok(now.every((t) => t.current), 'every task runs the new spec');
      for (const t of now) assert.ok(fs.readFileSync(`/proc/${t.pid}/environ`, 'utf8').split('\0').includes('V=2'), `task ${t.name} runs with V=2`);
    });

    it('a change of the replica count alone restarts nothing', () => {
      const before = new Set(live('sf_web').map((t) => t.id));
      hosts.ok(m, ['service', 'scale', 'sf_web=7']);
      const after = live('sf_web');
      assert.equal(after.length, 7);
      assert.equal(after.filter((t) => before.has(t.id)).length, 6, 'the six tasks there before are still the same tasks');
    });
  });

  describe('stop-first, parallelism 2', () => {
    const update = ['parallelism: 2', 'order: stop-first'];
    before(() => {
      hosts.ok(m, ['deploy', '-c', writeStack('st', loopStack(1, 6, update)), 'st']);
    });

    it('never runs more than desired nor fewer than desired - parallelism', async () => {
      const r = await watchUpdate('st_web', () => hosts.ok(m, ['deploy', '--detach', '-c', writeStack('st', loopStack(2, 6, update)), 'st']));
      assert.ok(r.high <= 6, `at most 6 running (highest ${r.high})`);
      assert.ok(r.low >= 4, `at least 4 running all through (lowest ${r.low})`);
      assert.equal(r.status.state, 'completed', r.status.message);
      assert.ok(live('st_web').every((t) => t.current));
    });
  });

  describe('an update whose new tasks fail', () => {
    const failing = (action: string) => [
      'services:',
      '  web:',
      '    image: busybox',
      '    command: ["sh", "-c", "exit 1"]',
      '    deploy:',
      '      replicas: 3',
      `      update_config: { parallelism: 1, failure_action: ${action}, monitor: 2s }`,
      '',
    ].join('\n');

    it('failure_action rollback: ends on the old spec, rollback_completed', async () => {
      hosts.ok(m, ['deploy', '-c', writeStack('rb', loopStack(1, 3, ['parallelism: 1', 'failure_action: rollback', 'monitor: 2s'])), 'rb']);
      const before = record('rb_web');
      const r = hosts.cli(m, ['deploy', '-c', writeStack('rb', failing('rollback')), 'rb']);
      assert.equal(r.code, 1, 'deploy reports the rollback');
      assert.match(r.stderr, /rb_web: update rolled back due to failure or early termination of task/);
      const after = record('rb_web');
      assert.equal(after.updateStatus?.state, 'rollback_completed');
      assert.deepEqual(after.spec.task.container.command, before.spec.task.container.command, 'the old command is back');
      const now = live('rb_web');
      assert.equal(now.length, 3);
      assert.ok(now.every((t) => t.current));
    });

    it('failure_action pause: stops after the first failure; service rollback goes back', async () => {
      hosts.ok(m, ['deploy', '-c', writeStack('pa', loopStack(1, 3, ['parallelism: 1', 'failure_action: pause', 'monitor: 2s'])), 'pa']);
      const r = hosts.cli(m, ['deploy', '-c', writeStack('pa', failing('pause')), 'pa']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /pa_web: update paused due to failure or early termination of task/);
      assert.equal(record('pa_web').updateStatus?.state, 'paused');
      // Paused after the first slot: the other two still run the old spec.
      const old = live('pa_web').filter((t) => !t.current);
      assert.equal(old.length, 2, 'two tasks of the old spec still run');
      hosts.ok(m, ['service', 'rollback', 'pa_web']);
      assert.equal(record('pa_web').updateStatus?.state, 'rollback_completed');
      const now = live('pa_web');
      assert.equal(now.length, 3);
      assert.ok(now.every((t) => t.current));
      assert.ok(old.every((t) => now.some((n) => n.id === t.id)), 'the tasks that ran the old spec were left alone by the rollback');
    });
  });

  describe('restart policies', () => {
    it('on-failure: a task that exits 0 stays complete', async () => {
      const file = writeStack('once', ['services:', '  job:', '    image: busybox', '    command: ["true"]', '    deploy:', '      restart_policy: { condition: on-failure, delay: 0s }', ''].join('\n'));
      // Not detached: the wait ends once the slot's task has ended for good (Docker's would wait forever).
      const r = hosts.cli(m, ['deploy', '-c', file, 'once']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /once_job: 0\/1 \(1 ended, not restarted\) converged/);
      await eventually('the job to complete', () => tasks('once_job').some((t) => t.state === 'complete'), 30000);
      await sleep(3000);
      const all = tasks('once_job');
      assert.equal(all.length, 1, `one task, never restarted: ${JSON.stringify(all)}`);
      assert.equal(all[0]!.state, 'complete');
      assert.equal(all[0]!.exitCode, 0);
    });

    it('max_attempts: a failing task is restarted that many times, then left failed', async () => {
      const file = writeStack('tries', ['services:', '  job:', '    image: busybox', '    command: ["sh", "-c", "exit 3"]', '    deploy:', '      restart_policy: { condition: on-failure, delay: 0s, max_attempts: 2 }', ''].join('\n'));
      hosts.ok(m, ['deploy', '--detach', '-c', file, 'tries']);
      await eventually('three failed runs', () => tasks('tries_job').filter((t) => t.state === 'failed').length === 3, 30000);
      await sleep(3000);
      const all = tasks('tries_job');
      assert.equal(all.length, 3, `the first run and 2 restarts: ${JSON.stringify(all.map((t) => t.state))}`);
      assert.ok(all.every((t) => t.state === 'failed' && t.exitCode === 3 && /non-zero exit/.test(t.error ?? '')));
    });
  });

  describe('health checks', () => {
    const healthStack = (test: string, replicas: number, version: number) =>
      [
        'services:',
        '  app:',
        '    image: busybox',
        `    command: ["sh", "-c", "trap 'exit 0' TERM; touch /tmp/ok; while true; do sleep 0.2; done"]`,
        `    environment: { V: "${version}" }`,
        '    healthcheck:',
        `      test: ${test}`,
        '      interval: 500ms',
        '      timeout: 2s',
        '      retries: 2',
        '    deploy:',
        `      replicas: ${replicas}`,
        '      update_config: { parallelism: 1, failure_action: pause, monitor: 4s }',
        '',
      ].join('\n');

    it('a task becomes healthy; when its check fails it is replaced', async () => {
      hosts.ok(m, ['deploy', '-c', writeStack('hc', healthStack('["CMD", "test", "-f", "/tmp/ok"]', 2, 1)), 'hc']);
      await eventually('both healthy', () => live('hc_app').filter((t) => t.health === 'healthy').length === 2, 30000);
      const victim = live('hc_app')[0]!;
      inContainer(victim.pid!, ['rm', '/tmp/ok']);
      const gone = await eventually('the unhealthy task to fail', () => tasks('hc_app').find((t) => t.id === victim.id && t.state === 'failed'), 30000);
      assert.equal(gone.error, 'task: unhealthy container');
      // Its last check results stay with it, for inspect.
      const [inspected] = hosts.json<{ status: { healthLog?: { exitCode: number; output: string }[] } }[]>(['task', 'inspect', victim.id]);
      const results = inspected!.status.healthLog ?? [];
      assert.ok(results.length >= 2 && results.length <= 5, `the last results: ${JSON.stringify(results)}`);
      assert.deepEqual(results.slice(-2).map((r) => r.exitCode), [1, 1], 'the two failures that made it unhealthy');
      await eventually('a healthy replacement', () => live('hc_app').filter((t) => t.health === 'healthy' && t.id !== victim.id).length === 2, 30000);
    });

    it('an update whose new tasks never turn healthy does not go past the first one', async () => {
      const r = hosts.cli(m, ['deploy', '-c', writeStack('hc', healthStack('["CMD", "false"]', 2, 2)), 'hc']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /hc_app: update paused/);
      const old = live('hc_app').filter((t) => !t.current);
      assert.equal(old.length, 1, 'one task of the old spec still runs');
      assert.equal(old[0]!.health, 'healthy');
    });
  });

  describe('service create, update, rollback, rm', () => {
    const loop = UNTIL_TERM;
    const env = (t: TaskRow) => fs.readFileSync(`/proc/${t.pid}/environ`, 'utf8').split('\0');
    const oneLine = (r: { code: number; stderr: string }, re: RegExp) => {
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    };

    it('creates a service and waits for it', () => {
      hosts.ok(m, ['service', 'create', '--name', 'cli_web', '--replicas', '2', '--env', 'V=1', '--update-order', 'start-first', '--stop-grace-period', '2s', 'busybox', ...loop]);
      const now = live('cli_web');
      assert.equal(now.length, 2);
      assert.ok(now.every((t) => env(t).includes('V=1')));
    });

    it('updates it, rolling, and rolls it back', () => {
      const v1 = record('cli_web').specVersion;
      hosts.ok(m, ['service', 'update', '--env-add', 'V=2', 'cli_web']);
      assert.equal(record('cli_web').updateStatus?.state, 'completed');
      assert.ok(live('cli_web').every((t) => t.current && env(t).includes('V=2')));
      hosts.ok(m, ['service', 'rollback', 'cli_web']);
      const back = record('cli_web');
      assert.equal(back.updateStatus?.state, 'rollback_completed');
      assert.ok(back.specVersion > v1);
      assert.ok(live('cli_web').every((t) => t.current && env(t).includes('V=1')));
    });

    it('--force replaces every task with the same spec', () => {
      const before = new Set(live('cli_web').map((t) => t.id));
      hosts.ok(m, ['service', 'update', '--force', 'cli_web']);
      const after = live('cli_web');
      assert.equal(after.length, 2);
      assert.ok(after.every((t) => !before.has(t.id)), 'new tasks');
    });

    it('refuses bad input with one line and changes nothing', () => {
      const before = record('cli_web');
      oneLine(hosts.cli(m, ['service', 'update', '--update-parallelism', '-1', 'cli_web']), /invalid --update-parallelism "-1"/);
      oneLine(hosts.cli(m, ['service', 'update', '--bogus', 'x', 'cli_web']), /unknown flag: --bogus/);
      // Not in the cluster; its registry (Docker Hub) is out of reach of the test hosts.
      oneLine(hosts.cli(m, ['service', 'update', '--image', 'nosuch', 'cli_web']), /image nosuch:latest is not in the cluster and could not be pulled: cannot fetch manifest library\/nosuch:latest: registry docker\.io unreachable/);
      oneLine(hosts.cli(m, ['service', 'update', '--env-add', 'X=1', 'nosuch']), /service nosuch not found/);
      oneLine(hosts.cli(m, ['service', 'create', '--name', 'cli_web', 'busybox', 'true']), /service cli_web already exists/);
      const file = writeStack('badhc', ['services:', '  x:', '    image: busybox', '    healthcheck:', '      test: ["FOO", "bar"]', ''].join('\n'));
      oneLine(hosts.cli(m, ['deploy', '-c', file, 'badhc']), /healthcheck/);
      assert.deepEqual(record('cli_web'), before);
      assert.ok(!hosts.json<ServiceRow[]>(['service', 'ls']).some((s) => s.name === 'badhc_x'));
    });

    it('removes services; an unknown name removes none', () => {
      hosts.ok(m, ['service', 'create', '--detach', '--name', 'cli_other', 'busybox', ...loop]);
      oneLine(hosts.cli(m, ['service', 'rm', 'cli_other', 'nosuch']), /service nosuch not found/);
      assert.ok(svc('cli_other'));
      hosts.ok(m, ['service', 'rm', 'cli_web', 'cli_other']);
      assert.equal(svc('cli_web'), undefined);
      assert.equal(svc('cli_other'), undefined);
    });
  });

  describe('depends_on', () => {
    it('starts a service only once the one it depends on is healthy', async () => {
      const file = writeStack('dep', [
        'services:',
        '  web:',
        '    image: busybox',
        `    command: ${JSON.stringify(UNTIL_TERM)}`,
        '    depends_on:',
        '      db: { condition: service_healthy }',
        '  db:',
        '    image: busybox',
        `    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 2; touch /tmp/up; while true; do sleep 0.2; done"]`,
        '    healthcheck: { test: ["CMD", "test", "-f", "/tmp/up"], interval: 300ms, retries: 30 }',
        '',
      ].join('\n'));
      hosts.ok(m, ['deploy', '--detach', '-c', file, 'dep']);
      const deadline = Date.now() + 60_000;
      let sawWaiting = false;
      for (;;) {
        const web = tasks('dep_web');
        const dbHealthy = live('dep_db').some((t) => t.health === 'healthy');
        if (!dbHealthy) {
          assert.equal(web.length, 0, 'no task of web before db is healthy');
          sawWaiting ||= /waiting for dep_db to be healthy/.test(svc('dep_web')?.waitingFor ?? '');
        }
        if (live('dep_web').length === 1) break;
        if (Date.now() > deadline) throw new Error('web never started');
        await sleep(100);
      }
      assert.ok(sawWaiting, 'service ls said what web waited for');
      assert.equal(svc('dep_web')?.waitingFor, null);
    });
  });

  // Last: it takes a host down.
  describe('rebalance', () => {
    const perNode = (service: string) => {
      const n = new Map<string, number>();
      for (const t of live(service)) n.set(t.node!, (n.get(t.node!) ?? 0) + 1);
      return [...n.entries()].sort(([a], [b]) => a.localeCompare(b));
    };
    const third = () => hosts.hosts[2]!.name;
    before(async () => {
      hosts.ok(m, ['deploy', '-c', writeStack('bal', loopStack(1, 6, ['parallelism: 1', 'monitor: 1s'])), 'bal']);
      hosts.ok(m, ['deploy', '-c', writeStack('bala', [
        'services:', '  web:', '    image: busybox', `    command: ${JSON.stringify(UNTIL_TERM)}`, '    stop_grace_period: 2s',
        '    deploy:', '      replicas: 3', '      update_config: { monitor: 1s }', '      x-tsswarm: { rebalance: auto }', '',
      ].join('\n')), 'bala']);
      // The third host leaves and comes back: Swarm would leave it empty.
      hosts.ok(m, ['node', 'update', '--availability', 'drain', third()]);
      await eventually('nothing on the drained host', () => (live('bal_web').length === 6 && live('bala_web').length === 3 && ![...live('bal_web'), ...live('bala_web')].some((t) => t.node === third()) ? true : null), 60000);
      hosts.ok(m, ['node', 'update', '--availability', 'active', third()]);
    });

    it('service rebalance moves replicas onto the emptier host one at a time, never below the desired count', async () => {
      assert.ok(!perNode('bal_web').some(([n]) => n === third()), 'nothing moved back by itself');
      const r = await watchUpdate('bal_web', () => hosts.ok(m, ['service', 'rebalance', '--detach', 'bal_web']));
      assert.ok(r.low >= 6, `at least 6 running all through (lowest ${r.low})`);
      assert.ok(r.high <= 7, `one at a time: at most 7 (highest ${r.high})`);
      assert.equal(r.status.state, 'completed');
      assert.equal(r.status.message, 'rebalance completed');
      assert.deepEqual(perNode('bal_web').map(([, n]) => n), [2, 2, 2]);
      // Balanced now: nothing more to do, and that is not an error.
      assert.equal(hosts.ok(m, ['service', 'rebalance', 'bal_web']), 'bal_web: bal_web is balanced already\n');
    });

    it('rebalance: auto moves them by itself once the host has been back a while', async () => {
      const done = await eventually('bala_web rebalanced by itself', () => {
        const s = svc('bala_web')!;
        return s.update?.state === 'completed' && s.running === 3 ? s : null;
      }, 60000);
      assert.equal(done.update!.message, 'rebalance completed');
      assert.deepEqual(perNode('bala_web').map(([, n]) => n), [1, 1, 1], 'one task on each host, the one that came back too');
    });

    it('refuses what it cannot do, with one line', () => {
      const bad = hosts.cli(m, ['service', 'rebalance', 'nosuch']);
      assert.equal(bad.code, 1);
      assert.equal(bad.stderr, 'error: service nosuch not found\n');
      const both = hosts.cli(m, ['service', 'rebalance']);
      assert.equal(both.code, 1);
      assert.match(both.stderr, /^error: usage: tsswarm service rebalance/);
    });
  });

  describe('events', () => {
    interface EventRow { type: string; action: string; actor: { id: string; attributes: Record<string, string> } }

    it('lists what changed since a time: a service created and updated, its tasks', () => {
      const since = String(Date.now() / 1000);
      hosts.ok(m, ['service', 'create', '--name', 'ev_web', '--stop-grace-period', '1s', 'busybox', 'sleep', '3600']);
      hosts.ok(m, ['service', 'update', '--env-add', 'X=1', '--update-monitor', '500ms', 'ev_web']);
      const until = String(Date.now() / 1000 + 0.5);
      const out = hosts.ok(m, ['events', '--since', since, '--until', until, '--format', 'json']).trim().split('\n').map((l) => JSON.parse(l) as EventRow);
      const of = (type: string, action: string) => out.filter((e) => e.type === type && e.action === action && (e.actor.attributes.name === 'ev_web' || e.actor.attributes.service === 'ev_web'));
      assert.equal(of('service', 'create').length, 1);
      assert.ok(of('service', 'update').some((e) => e.actor.attributes['updatestate.new'] === 'updating'));
      assert.ok(of('service', 'update').some((e) => e.actor.attributes['updatestate.new'] === 'completed'));
      assert.ok(of('task', 'create').length >= 2, 'the first task and its replacement');
      assert.ok(of('task', 'update').some((e) => e.actor.attributes['state.new'] === 'running'));
      const typed = hosts.ok(m, ['events', '--since', since, '--until', until, '--filter', 'type=service', '--format', 'json']).trim().split('\n').map((l) => JSON.parse(l) as EventRow);
      assert.ok(typed.length > 0 && typed.every((e) => e.type === 'service'));
      const text = hosts.ok(m, ['events', '--since', since, '--until', until, '--filter', 'type=service', '--filter', 'name=ev_web']);
      assert.match(text, /^\d{4}-\d\d-\d\dT[\d:.]+Z service create \S+ \(.*name=ev_web.*\)$/m);
    });

    it('follows new events as they happen: a node going down', async () => {
      const f = hosts.follow(['events', '--filter', 'type=node', '--format', 'json']);
      try {
        await sleep(500);
        hosts.killHost(hosts.hosts[2]!);
        const down = await eventually('the node down event', () => f.lines.map((l) => JSON.parse(l) as EventRow).find((e) => e.action === 'update' && e.actor.attributes['state.new'] === 'down'), 30000);
        assert.equal(down.actor.attributes.name, hosts.hosts[2]!.name);
      } finally {
        f.stop();
      }
    });
  });
});
