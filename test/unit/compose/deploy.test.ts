import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServiceSpec } from '../../../shared/types';
import { assertFails, load, problemsOf, service } from './helpers';

/** A service `web` with `deploy:` holding `lines` (indented under deploy). */
function withDeploy(lines: string): string {
  return `services:\n  web:\n    image: busybox\n    deploy:\n${lines.replace(/^/gm, '      ')}\n`;
}
function webOf(lines: string): ServiceSpec {
  const stack = load(withDeploy(lines));
  assert.deepEqual(stack.warnings, []);
  return service(stack, 'test_web');
}

describe('deploy.placement', () => {
  it('keeps valid constraints as written, preferences and max_replicas_per_node', () => {
    const s = webOf(
      [
        'placement:',
        '  constraints:',
        '    - node.labels.db == true',
        '    - node.role!=manager',
        '    - engine.labels.region == eu-west',
        '    - node.platform.os == linux',
        '    - node.hostname != old-box',
        '  preferences:',
        '    - spread: node.labels.zone',
        '    - spread: engine.labels.rack',
        '    - spread: node.hostname',
        '  max_replicas_per_node: 2',
      ].join('\n'),
    );
    assert.deepEqual(s.task.placement, {
      constraints: ['node.labels.db == true', 'node.role!=manager', 'engine.labels.region == eu-west', 'node.platform.os == linux', 'node.hostname != old-box'],
      preferences: [{ spread: 'node.labels.zone' }, { spread: 'engine.labels.rack' }, { spread: 'node.hostname' }],
      maxReplicas: 2,
    });
  });

  it('max_replicas_per_node 0 means no limit; a string of digits is a number', () => {
    assert.equal(webOf('placement: {max_replicas_per_node: 0}').task.placement.maxReplicas, 0);
    assert.equal(webOf('placement: {max_replicas_per_node: "3"}').task.placement.maxReplicas, 3);
  });

  const errors: [string, string, RegExp, number][] = [
    ['an unknown constraint field', 'placement:\n  constraints: ["node.colour == red"]', /^services\.web\.deploy\.placement\.constraints\[0\]: unknown constraint field "node\.colour" in "node\.colour == red": use node\.id, /, 6],
    ['a constraint without operator', 'placement:\n  constraints:\n    - node.role manager', /placement\.constraints\[0\]: constraint expected one operator from ==, !=: "node\.role manager"/, 7],
    ['a constraint without value', 'placement:\n  constraints: ["node.labels.a =="]', /has no value after ==/, 6],
    ['a bad role', 'placement:\n  constraints: ["node.role == boss"]', /node\.role is manager or worker/, 6],
    ['a constraint that is not a string', 'placement:\n  constraints: [1]', /placement\.constraints\[0\]: must be a string, got 1/, 6],
    ['negative max_replicas_per_node', 'placement:\n  max_replicas_per_node: -1', /^services\.web\.deploy\.placement\.max_replicas_per_node: must be a non-negative integer, got -1 \(line 6\)$/, 6],
    ['fractional max_replicas_per_node', 'placement:\n  max_replicas_per_node: 1.5', /max_replicas_per_node: must be a non-negative integer, got 1\.5/, 6],
    ['a preference other than spread', 'placement:\n  preferences:\n    - pack: node.labels.zone', /placement\.preferences\[0\]\.pack: unknown key/, 7],
    ['a spread over an unknown key', 'placement:\n  preferences:\n    - spread: zone', /placement\.preferences\[0\]\.spread: invalid spread key "zone": use node\.id/, 7],
    ['a spread with an operator', 'placement:\n  preferences:\n    - spread: node.labels.a==b', /invalid spread key "node\.labels\.a==b"/, 7],
    ['preferences not a list', 'placement:\n  preferences: {spread: node.labels.zone}', /placement\.preferences: must be a list/, 6],
    ['an unknown placement key', 'placement:\n  constraint: []', /deploy\.placement\.constraint: unknown key/, 6],
  ];
  for (const [title, lines, pattern, line] of errors) {
    it(`refuses ${title}`, () => assertFails(withDeploy(lines), pattern, line));
  }
});

describe('deploy.resources.reservations', () => {
  it('cpus, memory and discrete generic resources', () => {
    const s = webOf(
      [
        'resources:',
        '  limits: {memory: 1g}',
        '  reservations:',
        '    cpus: "0.25"',
        '    memory: 256M',
        '    generic_resources:',
        '      - discrete_resource_spec: {kind: gpu, value: 2}',
        '      - discrete_resource_spec: {kind: ssd, value: "1"}',
      ].join('\n'),
    );
    assert.deepEqual(s.task.resources, {
      limits: { memoryBytes: 1024 ** 3, nanoCpus: null, pids: null },
      reservations: { memoryBytes: 256 * 1024 ** 2, nanoCpus: 250_000_000, generic: { gpu: 2, ssd: 1 } },
    });
  });

  it('warns about named resources, which it does not reserve', () => {
    const stack = load(withDeploy('resources:\n  reservations:\n    generic_resources:\n      - named_resource_spec: {kind: gpu, value: UUID1}'));
    assert.deepEqual(stack.warnings, ['services.web.deploy.resources.reservations.generic_resources[0].named_resource_spec: named generic resources are not supported; the service reserves none']);
    assert.deepEqual(service(stack, 'test_web').task.resources.reservations.generic, {});
  });

  const errors: [string, string, RegExp, number][] = [
    ['zero cpus', 'resources:\n  reservations: {cpus: 0}', /reservations\.cpus: must be a number of CPUs greater than 0, got 0/, 6],
    ['bad memory', 'resources:\n  reservations:\n    memory: much', /reservations\.memory: must be a positive size .* got "much"/, 7],
    ['more reserved than the limit', 'resources:\n  limits: {memory: 64m}\n  reservations: {memory: 128m}', /reservations\.memory: the memory reservation \(134217728 bytes\) is more than the memory limit \(67108864 bytes\)/, 7],
    ['a generic resource without value', 'resources:\n  reservations:\n    generic_resources:\n      - discrete_resource_spec: {kind: gpu}', /discrete_resource_spec: missing required key "value"/, 8],
    ['a generic resource of zero', 'resources:\n  reservations:\n    generic_resources:\n      - discrete_resource_spec: {kind: gpu, value: 0}', /discrete_resource_spec\.value: must be a positive integer, got 0/, 8],
    ['a generic resource twice', 'resources:\n  reservations:\n    generic_resources:\n      - discrete_resource_spec: {kind: gpu, value: 1}\n      - discrete_resource_spec: {kind: gpu, value: 2}', /generic_resources\[1\]: generic resource gpu is listed twice/, 9],
    ['a bad kind', 'resources:\n  reservations:\n    generic_resources:\n      - discrete_resource_spec: {kind: "g p u", value: 1}', /invalid resource kind "g p u"/, 8],
    ['an unknown reservation key', 'resources:\n  reservations: {pids: 5}', /reservations\.pids: unknown key/, 6],
  ];
  for (const [title, lines, pattern, line] of errors) {
    it(`refuses ${title}`, () => assertFails(withDeploy(lines), pattern, line));
  }
});

describe('deploy.restart_policy', () => {
  it('stores every field, Swarm defaults for the rest', () => {
    assert.deepEqual(webOf('restart_policy:\n  condition: on-failure\n  delay: 5s\n  max_attempts: 3\n  window: 2m').task.restartPolicy, {
      condition: 'on-failure',
      delayMs: 5000,
      maxAttempts: 3,
      windowMs: 120_000,
    });
    assert.deepEqual(webOf('restart_policy: {}').task.restartPolicy, { condition: 'any', delayMs: null, maxAttempts: null, windowMs: null });
    assert.deepEqual(webOf('restart_policy: {condition: none}').task.restartPolicy?.condition, 'none');
    assert.equal(webOf('replicas: 1').task.restartPolicy, null);
  });

  const errors: [string, string, RegExp, number][] = [
    ['a bad condition', 'restart_policy: {condition: always}', /restart_policy\.condition: must be none, on-failure or any, got "always"/, 5],
    ['a bad delay', 'restart_policy: {delay: 5}', /restart_policy\.delay: must be a duration/, 5],
    ['a negative delay', 'restart_policy: {delay: -5s}', /restart_policy\.delay: must not be negative/, 5],
    ['negative attempts', 'restart_policy: {max_attempts: -1}', /restart_policy\.max_attempts: must be a non-negative integer/, 5],
  ];
  for (const [title, lines, pattern, line] of errors) {
    it(`refuses ${title}`, () => assertFails(withDeploy(lines), pattern, line));
  }
});

describe('deploy.update_config and rollback_config', () => {
  it('stores what is given, with Docker defaults for the rest', () => {
    const s = webOf('update_config:\n  parallelism: 2\n  delay: 10s\n  failure_action: rollback\n  monitor: 1m\n  max_failure_ratio: 0.25\n  order: start-first\nrollback_config:\n  parallelism: 0');
    assert.deepEqual(s.update, { parallelism: 2, delayMs: 10_000, failureAction: 'rollback', monitorMs: 60_000, maxFailureRatio: 0.25, order: 'start-first' });
    assert.deepEqual(s.rollback, { parallelism: 0, delayMs: 0, failureAction: 'pause', monitorMs: null, maxFailureRatio: 0, order: 'stop-first' });
    const plain = webOf('replicas: 2');
    assert.equal(plain.update, null);
    assert.equal(plain.rollback, null);
    assert.deepEqual(webOf('update_config: {}').update, { parallelism: 1, delayMs: 0, failureAction: 'pause', monitorMs: null, maxFailureRatio: 0, order: 'stop-first' });
  });

  const errors: [string, string, RegExp, number][] = [
    ['a bad failure action', 'update_config: {failure_action: retry}', /update_config\.failure_action: must be pause, continue or rollback, got "retry"/, 5],
    ['rollback of a rollback', 'rollback_config: {failure_action: rollback}', /rollback_config\.failure_action: must be pause or continue, got "rollback"/, 5],
    ['a bad order', 'update_config: {order: random}', /update_config\.order: must be stop-first or start-first/, 5],
    ['a ratio above 1', 'update_config: {max_failure_ratio: 1.5}', /max_failure_ratio: must be a number from 0 to 1, got 1\.5/, 5],
    ['negative parallelism', 'update_config: {parallelism: -1}', /update_config\.parallelism: must be a non-negative integer/, 5],
    ['a bad monitor', 'update_config: {monitor: soon}', /update_config\.monitor: must be a duration/, 5],
    ['an unknown key', 'update_config: {paralelism: 1}', /update_config\.paralelism: unknown key/, 5],
  ];
  for (const [title, lines, pattern, line] of errors) {
    it(`refuses ${title}`, () => assertFails(withDeploy(lines), pattern, line));
  }

  it('reports several deploy problems at once', () => {
    assert.deepEqual(problemsOf(withDeploy('update_config: {order: x}\nrestart_policy: {condition: y}')), [
      'services.web.deploy.update_config.order: must be stop-first or start-first, got "x" (line 5)',
      'services.web.deploy.restart_policy.condition: must be none, on-failure or any, got "y" (line 6)',
    ]);
  });
});
