import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadStackFile } from '../../../shared/compose';
import type { StackDeployment } from '../../../shared/types';
import { service } from './helpers';

const dir = path.resolve(__dirname, '..', '..', '..', '..', 'compose-examples');
const NS = 'com.docker.stack.namespace';

function example(name: string): StackDeployment {
  return loadStackFile(path.join(dir, name, 'stack.yml'), { name: null, env: {} });
}

describe('compose-examples deploy as they are', () => {
  const stacks = fs.readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  it('has examples', () => assert.ok(stacks.length >= 5));
  for (const name of stacks) {
    it(`${name}/stack.yml loads without warnings`, () => {
      const d = example(name);
      assert.equal(d.name, name);
      assert.ok(d.services.length > 0);
      assert.deepEqual(d.warnings, []);
      // The only image test clusters have.
      for (const s of d.services) assert.equal(s.task.container.image, 'busybox:latest', s.name);
    });
  }
});

describe('compose-examples/voting', () => {
  const d = example('voting');

  it('publishes the vote and result pages', () => {
    assert.deepEqual(service(d, 'voting_vote').endpoint.ports, [{ target: 80, published: 5000, protocol: 'tcp', mode: 'ingress' }]);
    assert.deepEqual(service(d, 'voting_result').endpoint.ports, [{ target: 80, published: 5001, protocol: 'tcp', mode: 'ingress' }]);
    assert.equal(service(d, 'voting_vote').replicas, 2);
  });

  it('keeps the database on the labelled node, with its data on the named volume', () => {
    const db = service(d, 'voting_db');
    assert.deepEqual(db.task.placement.constraints, ['node.labels.db == true']);
    assert.deepEqual(db.task.container.mounts, [
      {
        type: 'volume',
        source: 'voting_db-data',
        target: '/var/lib/db',
        readOnly: false,
        bind: null,
        volume: { noCopy: false, labels: { 'com.example.role': 'database', [NS]: 'voting' }, driver: { name: 'local', options: {} } },
        tmpfs: null,
      },
    ]);
  });

  it('gives the cache an anonymous volume and the worker a restart policy', () => {
    assert.deepEqual(service(d, 'voting_redis').task.container.mounts.map((m) => [m.type, m.source, m.target]), [['volume', '', '/data']]);
    assert.deepEqual(service(d, 'voting_worker').task.restartPolicy, { condition: 'on-failure', delayMs: null, maxAttempts: 5, windowMs: 30_000 });
  });

  it('passes the shell its own variables ($$ in the file)', () => {
    const script = service(d, 'voting_redis').task.container.command?.[2] ?? '';
    assert.match(script, /case "\$cmd" in PUSH\) echo "\$arg" >> \/data\/queue/);
  });

  it('splits the networks, the backend encrypted', () => {
    assert.deepEqual(d.networks.map((n) => [n.spec.name, n.spec.encrypted]), [['voting_frontend', false], ['voting_backend', true]]);
    assert.deepEqual(service(d, 'voting_redis').networks.map((n) => n.target), ['voting_frontend', 'voting_backend']);
  });
});

describe('compose-examples/monitoring', () => {
  const d = example('monitoring');

  it('reads the configs from the files beside the stack', () => {
    assert.deepEqual(d.configs.map((c) => [c.key, c.spec.name]), [['metrics_cgi', 'monitoring_metrics_cgi'], ['collector_targets', 'monitoring_collector_targets']]);
    const script = Buffer.from(d.configs[0]?.data ?? '', 'base64').toString('utf8');
    assert.equal(script, fs.readFileSync(path.join(dir, 'monitoring', 'metrics.sh'), 'utf8'));
  });

  it('runs the exporter on every node with the host /proc bound read-only and an executable CGI', () => {
    const exporter = service(d, 'monitoring_node-exporter');
    assert.equal(exporter.mode, 'global');
    assert.deepEqual(exporter.task.container.mounts.map((m) => [m.type, m.source, m.target, m.readOnly, m.bind?.propagation]), [
      ['bind', '/proc', '/host/proc', true, 'rprivate'],
      ['bind', '/sys', '/host/sys', true, 'rslave'],
    ]);
    assert.deepEqual(exporter.task.container.configs, [{ configId: '', configName: 'monitoring_metrics_cgi', file: { name: '/www/cgi-bin/metrics', uid: '0', gid: '0', mode: 0o555 } }]);
    assert.deepEqual(exporter.task.resources.reservations, { memoryBytes: 4 * 1024 * 1024, nanoCpus: 50_000_000, generic: {} });
    assert.equal(exporter.task.container.hostname, '{{.Node.Hostname}}');
  });

  it('spreads the collector over zones, with update and rollback policies', () => {
    const collector = service(d, 'monitoring_collector');
    assert.deepEqual(collector.task.placement.preferences, [{ spread: 'node.labels.zone' }]);
    assert.deepEqual(collector.task.resources.reservations, { memoryBytes: 16 * 1024 * 1024, nanoCpus: 100_000_000, generic: {} });
    assert.equal(collector.update?.failureAction, 'rollback');
    assert.equal(collector.update?.monitorMs, 30_000);
    assert.equal(collector.rollback?.parallelism, 0);
    assert.deepEqual(collector.task.logDriver, { name: 'json-file', options: { 'max-size': '10m', 'max-file': '3' } });
    assert.deepEqual(collector.task.container.env, ['SCRAPE_SECONDS=15']);
  });
});

describe('compose-examples/proxy', () => {
  const d = example('proxy');

  it('reads the secret from its file', () => {
    assert.deepEqual(d.secrets.map((s) => [s.key, s.spec.name, s.external]), [['admin_password', 'proxy_admin_password', false]]);
    const bytes = Buffer.from(d.secrets[0]?.data ?? '', 'base64');
    assert.deepEqual(bytes, fs.readFileSync(path.join(dir, 'proxy', 'secrets', 'admin_password.txt')));
  });

  it('gives the proxy its secret, config, labels and templates', () => {
    const proxy = service(d, 'proxy_proxy');
    const c = proxy.task.container;
    assert.equal(c.hostname, '{{.Node.Hostname}}-proxy');
    assert.deepEqual(c.env, ['PROXY_TASK={{.Task.Name}}', 'PROXY_SLOT={{.Task.Slot}}', 'UPSTREAM=app:8080']);
    assert.deepEqual(c.secrets, [{ secretId: '', secretName: 'proxy_admin_password', file: { name: 'admin_password', uid: '0', gid: '0', mode: 0o400 } }]);
    assert.deepEqual(c.configs, [{ configId: '', configName: 'proxy_proxy_conf', file: { name: '/etc/proxy/httpd.conf', uid: '0', gid: '0', mode: 0o444 } }]);
    assert.deepEqual(c.labels, { 'com.example.role': 'edge', 'com.example.owner': 'platform-team', [NS]: 'proxy' });
    assert.deepEqual(proxy.labels, { 'com.example.exposed': 'true', 'com.example.ports': '80,8081', [NS]: 'proxy' });
    assert.equal(proxy.mode, 'global');
    assert.deepEqual(proxy.endpoint.ports, [
      { target: 80, published: 80, protocol: 'tcp', mode: 'ingress' },
      { target: 8081, published: 8081, protocol: 'tcp', mode: 'host' },
    ]);
    assert.deepEqual(proxy.networks, [{ target: 'proxy_edge', aliases: ['gateway'] }]);
  });

  it('gives the app a templated hostname and a shell healthcheck', () => {
    const app = service(d, 'proxy_app');
    assert.equal(app.task.container.hostname, 'app-{{.Task.Slot}}');
    assert.deepEqual(app.task.container.healthcheck?.test, ['CMD-SHELL', 'wget -qO /dev/null http://localhost:8080/ || exit 1']);
    assert.deepEqual(app.labels, { 'com.example.tier': 'backend', [NS]: 'proxy' });
  });
});
