/**
 * Autolock: `tsswarm init --autolock` prints an unlock key; a manager that
 * restarts serves nothing (no API but unlock, no dispatcher) until `tsswarm
 * unlock` gets the right key; a wrong key is refused; after `unlock-key
 * --rotate` the old key no longer unlocks and the new one does.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { requireRoot } from './harness/root';
import { TestHosts } from './harness/hosts';
import { eventually } from './harness/cluster';

interface NodeRow { hostname: string; status: string }

describe('autolock', () => {
  let hosts: TestHosts;
  let initOut = '';

  before(() => {
    requireRoot();
    hosts = new TestHosts(1);
    hosts.createNetwork();
    const m = hosts.manager;
    initOut = hosts.ok(m, ['init', '--autolock', '--data-root', m.dataRoot, '--advertise-addr', m.addr, '--cgroup-parent', m.cgroupParent, '--hostname', m.name]);
  });

  after(() => hosts?.destroy());

  const m = () => hosts.manager;
  const pid = (name: string) => Number(fs.readFileSync(path.join(m().dataRoot, `${name}.pid`), 'utf8'));
  const grpcPort = () => (JSON.parse(fs.readFileSync(path.join(m().dataRoot, 'config.json'), 'utf8')) as { grpcPort: number }).grpcPort;
  /** True when something accepts TCP connections on the dispatcher's port. */
  const dispatcherListens = () => hosts.exec(m(), 'bash', ['-c', `exec 3<>/dev/tcp/${m().addr}/${grpcPort()}`]).code === 0;
  /** Kills the manager; its supervisor starts it again, locked. */
  const restartManager = async () => {
    const before = pid('manager');
    process.kill(before, 'SIGKILL');
    await eventually('the manager restarted, locked', () => {
      try {
        return pid('manager') !== before && /this manager is locked/.test(hosts.cli(m(), ['node', 'ls']).stderr);
      } catch {
        return false;
      }
    }, 60000);
  };
  const unlock = (key: string) => hosts.cli(m(), ['unlock'], `${key}\n`);

  it('prints the unlock key at init; a restarted manager serves nothing until unlocked with it', async () => {
    const key = /(SWMKEY-1-\S+)/.exec(initOut)?.[1];
    assert.ok(key, `init prints the unlock key: ${initOut}`);
    assert.equal(hosts.ok(m(), ['unlock-key', '-q']).trim(), key);
    assert.equal(fs.existsSync(path.join(m().dataRoot, 'manager', 'kek')), false, 'no key-encryption key on disk with autolock');

    await restartManager();
    const r = hosts.cli(m(), ['node', 'ls']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: this manager is locked: run tsswarm unlock/);
    assert.equal(dispatcherListens(), false, 'the dispatcher does not listen while locked');

    const wrong = unlock(`SWMKEY-1-${Buffer.alloc(32, 7).toString('base64')}`);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /^error: wrong unlock key\n$/);
    const bad = unlock('not-a-key');
    assert.match(bad.stderr, /^error: invalid unlock key/);
    assert.equal(hosts.cli(m(), ['node', 'ls']).code, 1, 'still locked');

    assert.equal(unlock(key).code, 0);
    await eventually('the node is ready again', () => {
      const n = hosts.cli(m(), ['node', 'ls', '--format', 'json']);
      return n.code === 0 && (JSON.parse(n.stdout) as NodeRow[]).every((x) => x.status === 'ready');
    });
    assert.equal(dispatcherListens(), true);
    assert.match(hosts.cli(m(), ['unlock'], `${key}\n`).stderr, /this manager is not locked/);
  });

  it('rotates the unlock key: the old one no longer unlocks a restarted manager, the new one does', async () => {
    const old = hosts.ok(m(), ['unlock-key', '-q']).trim();
    const keyFile = () => fs.readFileSync(path.join(m().dataRoot, 'manager', 'keys.json'), 'utf8');
    const wrapped = keyFile();
    const out = hosts.ok(m(), ['unlock-key', '--rotate']);
    const key = /(SWMKEY-1-\S+)/.exec(out)?.[1];
    assert.ok(key && key !== old);
    // The manager rewraps its key file when it sees the new key.
    await eventually('the key file is wrapped with the new key', () => keyFile() !== wrapped);
    assert.equal(hosts.ok(m(), ['unlock-key', '-q']).trim(), key);
    await restartManager();
    assert.match(unlock(old).stderr, /^error: wrong unlock key/);
    assert.equal(unlock(key).code, 0);
    await eventually('unlocked', () => hosts.cli(m(), ['node', 'ls']).code === 0);
  });
});
