/**
 * The "Ignoring unsupported options" warning lists what `docker stack deploy` ignores too, and no
 * key Swarm acts on among those tsswarm's model has a place for.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEPLOY, HEALTHCHECK, LOGGING, RESOURCES, SERVICE, TOP_LEVEL, classifyKey } from '../../../shared/compose/schema';
import { load } from './helpers';

describe('keys docker stack deploy ignores', () => {
  const ignored = ['links', 'container_name', 'restart', 'network_mode', 'external_links', 'cgroup_parent', 'domainname', 'mac_address', 'ipc', 'pid', 'expose', 'profiles', 'pull_policy'];
  for (const key of ignored) {
    it(`${key} is a warning, not an error`, () => {
      const value = key === 'links' || key === 'external_links' || key === 'expose' || key === 'profiles' ? '[]' : 'x';
      const stack = load(`services:\n  web:\n    image: busybox\n    ${key}: ${value}\n`);
      assert.deepEqual(stack.warnings, [`Ignoring unsupported options: ${key}`]);
    });
  }
});

describe('keys Swarm honours are read, not ignored', () => {
  const honoured = {
    service: ['image', 'command', 'entrypoint', 'environment', 'env_file', 'working_dir', 'user', 'hostname', 'stop_grace_period', 'stop_signal', 'deploy', 'networks', 'ports', 'dns', 'extra_hosts', 'labels', 'volumes', 'secrets', 'configs', 'healthcheck', 'logging', 'cap_add', 'cap_drop', 'privileged', 'read_only', 'init', 'sysctls', 'ulimits', 'tmpfs', 'devices', 'security_opt', 'oom_score_adj', 'userns_mode', 'shm_size', 'tty', 'stdin_open', 'build'],
    deploy: ['mode', 'replicas', 'endpoint_mode', 'labels', 'placement', 'resources', 'restart_policy', 'update_config', 'rollback_config'],
    resources: ['limits', 'reservations'],
    top: ['version', 'name', 'services', 'networks', 'volumes', 'secrets', 'configs'],
  };
  const sets = { service: SERVICE, deploy: DEPLOY, resources: RESOURCES, top: TOP_LEVEL };
  for (const [where, keys] of Object.entries(honoured) as [keyof typeof sets, string[]][]) {
    for (const key of keys) it(`${where}.${key} is supported`, () => assert.equal(classifyKey(sets[where], key), 'supported'));
  }
  it('healthcheck and logging keys are all supported', () => {
    for (const k of ['test', 'interval', 'timeout', 'start_period', 'start_interval', 'retries', 'disable']) assert.equal(classifyKey(HEALTHCHECK, k), 'supported');
    for (const k of ['driver', 'options']) assert.equal(classifyKey(LOGGING, k), 'supported');
  });

  it('a stack using them all gives no warning', () => {
    const stack = load(
      [
        'services:',
        '  web:',
        '    image: busybox',
        '    labels: [a=b]',
        '    volumes: ["/srv:/srv:ro"]',
        '    healthcheck: {test: "true"}',
        '    logging: {driver: json-file}',
        '    tty: true',
        '    stdin_open: true',
        '    configs: [c]',
        '    secrets: [s]',
        '    deploy:',
        '      labels: [x=y]',
        '      placement: {constraints: ["node.role==worker"]}',
        '      restart_policy: {condition: any}',
        '      update_config: {parallelism: 2}',
        '      rollback_config: {parallelism: 1}',
        '      resources: {reservations: {memory: 1m}}',
        'configs:',
        '  c: {content: hello}',
        'secrets:',
        '  s: {environment: S}',
        'volumes:',
        '  v:',
      ].join('\n'),
      { env: { S: 'x' } },
    );
    assert.deepEqual(stack.warnings, []);
  });
});
