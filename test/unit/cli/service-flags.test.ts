import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SERVICE_BOOLEANS, SERVICE_REPEATABLE, SERVICE_VALUED, specFromCreateFlags, specFromUpdateFlags } from '../../../cli/service-flags';
import { parseFlags } from '../../../shared/flags';
import { InvalidArgumentError } from '../../../shared/errors';

const parse = (argv: string[]) => parseFlags(argv, [...SERVICE_VALUED, 'timeout'], [...SERVICE_BOOLEANS, 'detach', 'force'], SERVICE_REPEATABLE);
const create = (argv: string[], image = 'busybox', command: string[] = []) => specFromCreateFlags(parse(argv), image, command);

describe('service create flags', () => {
  it('a plain service: its name, no stack, no network, Docker defaults', () => {
    const s = create(['--name', 'web'], 'busybox', ['sleep', '100']);
    assert.equal(s.name, 'web');
    assert.equal(s.stack, null);
    assert.equal(s.mode, 'replicated');
    assert.equal(s.replicas, 1);
    assert.deepEqual(s.networks, []);
    assert.deepEqual(s.labels, {});
    assert.deepEqual(s.task.container.labels, {});
    assert.deepEqual(s.task.container.command, ['sleep', '100']);
    assert.equal(s.task.container.image, 'busybox:latest');
  });

  it('maps every kind of flag onto the model, as the stack file key would', () => {
    const s = create([
      '--name', 'api', '--replicas', '3', '-e', 'A=1', '--env', 'B=$literal', '--label', 'team=x', '--container-label', 'c=1',
      '--mount', 'type=volume,source=data,target=/data,volume-nocopy', '--mount', 'type=bind,src=/srv,dst=/srv,readonly', '--mount', 'type=tmpfs,target=/tmp,tmpfs-size=1m',
      '-p', '8080:80', '--publish', 'published=53,target=53,protocol=udp,mode=host', '--secret', 'source=db_pass,target=pw,mode=0400', '--config', 'app_conf',
      '--network', 'backend', '--constraint', 'node.role==worker', '--placement-pref', 'spread=node.labels.zone', '--replicas-max-per-node', '2',
      '--limit-cpu', '0.5', '--limit-memory', '64M', '--reserve-memory', '32M', '--restart-condition', 'on-failure', '--restart-max-attempts', '4', '--restart-delay', '2s',
      '--update-parallelism', '2', '--update-order', 'start-first', '--update-failure-action', 'rollback', '--update-monitor', '10s', '--rollback-parallelism', '0',
      '--health-cmd', 'wget -q localhost', '--health-interval', '5s', '--health-retries', '2', '--hostname', '{{.Task.Slot}}.api', '-u', '1000', '-w', '/app', '--stop-grace-period', '3s',
    ]);
    const c = s.task.container;
    assert.deepEqual([s.replicas, s.labels, c.labels, [...c.env].sort()], [3, { team: 'x' }, { c: '1' }, ['A=1', 'B=$literal']]);
    assert.deepEqual(c.mounts.map((m) => [m.type, m.source, m.target, m.readOnly]), [['volume', 'data', '/data', false], ['bind', '/srv', '/srv', true], ['tmpfs', '', '/tmp', false]]);
    assert.equal(c.mounts[0]!.volume?.noCopy, true);
    assert.deepEqual(c.mounts[0]!.volume?.labels, {}, 'no stack label on a volume of a service outside a stack');
    assert.equal(c.mounts[2]!.tmpfs?.sizeBytes, 1024 * 1024);
    assert.deepEqual([...s.endpoint.ports].sort((a, b) => b.target - a.target), [{ target: 80, published: 8080, protocol: 'tcp', mode: 'ingress' }, { target: 53, published: 53, protocol: 'udp', mode: 'host' }]);
    assert.deepEqual(c.secrets.map((r) => [r.secretName, r.file.name, r.file.mode]), [['db_pass', 'pw', 0o400]]);
    assert.deepEqual(c.configs.map((r) => [r.configName, r.file.name]), [['app_conf', '/app_conf']]);
    assert.deepEqual(s.networks, [{ target: 'backend', aliases: [] }]);
    assert.deepEqual(s.task.placement, { constraints: ['node.role==worker'], preferences: [{ spread: 'node.labels.zone' }], maxReplicas: 2 });
    assert.deepEqual(s.task.resources.limits, { nanoCpus: 5e8, memoryBytes: 64 * 1024 * 1024, pids: null });
    assert.equal(s.task.resources.reservations.memoryBytes, 32 * 1024 * 1024);
    assert.deepEqual(s.task.restartPolicy, { condition: 'on-failure', delayMs: 2000, maxAttempts: 4, windowMs: null });
    assert.deepEqual(s.update, { parallelism: 2, delayMs: 0, failureAction: 'rollback', monitorMs: 10_000, maxFailureRatio: 0, order: 'start-first' });
    assert.equal(s.rollback?.parallelism, 0);
    assert.deepEqual(c.healthcheck, { test: ['CMD-SHELL', 'wget -q localhost'], intervalMs: 5000, timeoutMs: null, startPeriodMs: null, startIntervalMs: null, retries: 2 });
    assert.deepEqual([c.hostname, c.user, c.workingDir, c.stopGracePeriodMs], ['{{.Task.Slot}}.api', '1000', '/app', 3000]);
  });

  it('global mode has no replicas', () => {
    const s = create(['--name', 'agent', '--mode', 'global']);
    assert.equal(s.mode, 'global');
    assert.throws(() => create(['--name', 'agent', '--mode', 'global', '--replicas', '2']), /--replicas cannot be used with a global service/);
  });

  it('bad input is one line naming the flag', () => {
    const bad: [string[], RegExp][] = [
      [[], /--name is required/],
      [['--name', 'x', '--update-parallelism', '-1'], /invalid --update-parallelism "-1": expected an integer of at least 0/],
      [['--name', 'x', '--update-order', 'sideways'], /invalid --update-order "sideways": expected stop-first, start-first/],
      [['--name', 'x', '--restart-delay', '10'], /invalid --restart-delay "10": expected a duration/],
      [['--name', 'x', '--limit-memory', 'lots'], /invalid --limit-memory "lots"/],
      [['--name', 'x', '--update-max-failure-ratio', '2'], /expected a number from 0 to 1/],
      [['--name', 'x', '--mount', 'type=volume,source=x'], /invalid --mount "type=volume,source=x": target is required/],
      [['--name', 'x', '-p', '80:abc'], /^--publish: /],
      [['--name', 'x', '--placement-pref', 'zone'], /expected spread=node.labels.KEY/],
      [['--name', 'x', '--mode', 'both'], /invalid --mode "both"/],
    ];
    for (const [argv, re] of bad) {
      assert.throws(() => create(argv), (e: unknown) => e instanceof InvalidArgumentError && re.test(e.message) && !e.message.includes('\n'), argv.join(' '));
    }
  });
});

describe('service update flags', () => {
  const cur = create(['--name', 'web', '--replicas', '2', '-e', 'A=1', '-e', 'B=2', '-p', '8080:80', '--mount', 'type=tmpfs,target=/t', '--constraint', 'node.role==worker', '--label', 'x=1']);

  it('changes only what the flags name', () => {
    const s = specFromUpdateFlags(parse(['--image', 'busybox:2', '--env-add', 'A=9', '--env-rm', 'B', '--env-add', 'C=3', '--replicas', '5']), cur);
    assert.equal(s.task.container.image, 'busybox:2');
    assert.deepEqual(s.task.container.env, ['A=9', 'C=3']);
    assert.equal(s.replicas, 5);
    assert.deepEqual({ ...s, replicas: 2, task: { ...s.task, container: { ...s.task.container, image: cur.task.container.image, env: cur.task.container.env } } }, cur);
  });

  it('adds and removes list entries', () => {
    const s = specFromUpdateFlags(parse(['--publish-rm', '80', '--publish-add', '9090:90', '--mount-rm', '/t', '--constraint-rm', 'node.role==worker', '--constraint-add', 'node.labels.a==b', '--label-rm', 'x', '--label-add', 'y=2']), cur);
    assert.deepEqual(s.endpoint.ports.map((p) => [p.published, p.target]), [[9090, 90]]);
    assert.deepEqual(s.task.container.mounts, []);
    assert.deepEqual(s.task.placement.constraints, ['node.labels.a==b']);
    assert.deepEqual(s.labels, { y: '2' });
  });

  it('--force bumps the force counter, nothing else', () => {
    const s = specFromUpdateFlags(parse(['--force']), cur);
    assert.equal(s.task.forceUpdate, cur.task.forceUpdate + 1);
  });

  it('update and rollback settings keep what is not given', () => {
    const s = specFromUpdateFlags(parse(['--update-parallelism', '3']), { ...cur, update: { parallelism: 1, delayMs: 5000, failureAction: 'rollback', monitorMs: null, maxFailureRatio: 0.2, order: 'start-first' } });
    assert.deepEqual(s.update, { parallelism: 3, delayMs: 5000, failureAction: 'rollback', monitorMs: null, maxFailureRatio: 0.2, order: 'start-first' });
  });

  it('health timings change the check the service has', () => {
    const withCheck = specFromUpdateFlags(parse(['--health-cmd', 'true']), cur);
    const s = specFromUpdateFlags(parse(['--health-interval', '2s']), withCheck);
    assert.deepEqual(s.task.container.healthcheck?.test, ['CMD-SHELL', 'true']);
    assert.equal(s.task.container.healthcheck?.intervalMs, 2000);
    assert.deepEqual(specFromUpdateFlags(parse(['--no-healthcheck']), withCheck).task.container.healthcheck?.test, ['NONE']);
  });
});
