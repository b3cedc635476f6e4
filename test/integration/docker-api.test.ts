/**
 * The Docker Engine API of a manager, asked by the real `docker` command line (the client on the
 * PATH: Debian's 20.10 or a newer one, which negotiates down to the API version tsswarm answers).
 * This first part: `/_ping` and `/version`; the rest of issue 14 adds to it.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { requireRoot } from './harness/root';
import { TestHosts } from './harness/hosts';

describe('the Docker Engine API', () => {
  let hosts: TestHosts;
  let sock = '';
  const docker = (args: string[]) => {
    const r = spawnSync('docker', ['-H', `unix://${sock}`, ...args], { encoding: 'utf8', timeout: 30000, env: { ...process.env, DOCKER_CONFIG: path.join(hosts.root, 'docker-cli') } });
    return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  };

  before(() => {
    requireRoot();
    if (spawnSync('docker', ['--version']).status !== 0) assert.fail('the docker CLI is missing: run scripts/setup.sh --bench');
    hosts = new TestHosts(1);
    hosts.start();
    sock = path.join(hosts.manager.dataRoot, 'docker.sock');
  });

  after(() => {
    hosts?.destroy();
  });

  it('docker version: the server is tsswarm, API 1.41, whatever API the client speaks', () => {
    const r = docker(['version', '--format', '{{json .Server}}']);
    assert.equal(r.code, 0, r.stderr);
    const server = JSON.parse(r.stdout) as { ApiVersion: string; Os: string; Platform: { Name: string }; MinAPIVersion: string };
    assert.equal(server.ApiVersion, '1.41');
    assert.equal(server.MinAPIVersion, '1.24');
    assert.equal(server.Os, 'linux');
    assert.match(server.Platform.Name, /^tsswarm \d+\.\d+\.\d+/);
  });

  it('/_ping answers with the headers a client negotiates from; an unknown endpoint is Docker\'s 404 body', () => {
    const ping = hosts.exec(hosts.manager, 'curl', ['-si', '--unix-socket', sock, 'http://docker/_ping']);
    assert.equal(ping.code, 0, ping.stderr);
    assert.match(ping.stdout, /^HTTP\/1\.1 200/);
    assert.match(ping.stdout, /^api-version: 1\.41\r$/im);
    assert.match(ping.stdout, /^ostype: linux\r$/im);
    assert.match(ping.stdout, /^swarm: active\/manager\r$/im);
    assert.match(ping.stdout, /\r\n\r\nOK$/);
    const missing = hosts.exec(hosts.manager, 'curl', ['-s', '--unix-socket', sock, 'http://docker/v1.41/nothing']);
    assert.deepEqual(JSON.parse(missing.stdout), { message: 'page not found' });
    const old = hosts.exec(hosts.manager, 'curl', ['-s', '--unix-socket', sock, 'http://docker/v1.12/version']);
    assert.match((JSON.parse(old.stdout) as { message: string }).message, /^client version 1\.12 is too old/);
  });
});
