/**
 * Images leave the cluster when nothing uses them: `image prune` (dangling images of the cluster
 * registry; with -a every image no service uses; on every node the images none of its tasks
 * uses), the nodes' own garbage collection above the cluster's disk threshold (`update
 * --image-gc-threshold`), never an image a running task uses, and a removal made while a manager
 * was down reaches it when it comes back.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { requireRoot } from './harness/root';
import { TestHosts, type TestHost } from './harness/hosts';
import { eventually, makeBusyboxImage } from './harness/cluster';
import { tarOf, writeOciLayout } from './harness/oci-images';

interface TaskRow { desiredState: string; state: string; node: string | null }
interface ImageRow { ref: string; digest: string }

describe('image prune and garbage collection', () => {
  let hosts: TestHosts;
  let work = '';
  let busyboxTar = '';

  /** An image of busybox and one small layer of its own, imported into the cluster as `ref`. */
  const importImage = (ref: string, content: string) => {
    const name = ref.replace(/[^a-z0-9]/g, '-');
    const dir = path.join(work, `${name}-${content}`);
    const layer = tarOf(path.join(work, `${name}-${content}.tar`), { [`${name}.txt`]: `${content}\n` });
    writeOciLayout(dir, 'v', [{ architecture: 'amd64', layers: [{ tar: busyboxTar, compression: 'gzip' }, { tar: layer, compression: 'gzip' }], cmd: ['sh'] }]);
    const archive = `${dir}.oci.tar`;
    assert.equal(spawnSync('tar', ['-C', dir, '-cf', archive, '.']).status, 0);
    hosts.ok(hosts.manager, ['image', 'import', archive, ref]);
  };
  /** What a node's agent has cached: its images.json refs. */
  const nodeImages = (h: TestHost): string[] => {
    const file = path.join(h.dataRoot, 'agent', 'images', 'images.json');
    if (!fs.existsSync(file)) return [];
    return Object.keys((JSON.parse(fs.readFileSync(file, 'utf8')) as { images: Record<string, unknown> }).images).sort();
  };
  const layerCount = (h: TestHost) => fs.readdirSync(path.join(h.dataRoot, 'agent', 'images', 'layers')).length;
  const clusterImages = (h: TestHost = hosts.manager) => hosts.json<ImageRow[]>(['--host', hosts.api(h), 'image', 'ls'], h).map((i) => i.ref).sort();
  const runningOn = (service: string) => hosts.json<TaskRow[]>(['service', 'ps', service]).filter((t) => t.desiredState === 'running' && t.state === 'running').map((t) => t.node);
  const runEverywhere = async (service: string, image: string) => {
    hosts.ok(hosts.manager, ['service', 'create', '--detach', '--name', service, '--replicas', '3', '--replicas-max-per-node', '1', '--stop-grace-period', '1s', image, 'sleep', '1000']);
    await eventually(`${service} running on the 3 hosts`, () => new Set(runningOn(service)).size === 3, 120_000);
  };
  const has = (h: TestHost, prefix: string) => nodeImages(h).some((r) => r.startsWith(prefix));

  before(() => {
    requireRoot();
    hosts = new TestHosts(3);
    hosts.start(2);
    work = path.join(hosts.root, 'gc-test');
    fs.mkdirSync(work, { recursive: true });
    busyboxTar = makeBusyboxImage(work);
  });

  after(() => {
    hosts?.destroy();
  });

  it('image prune: dangling images of the cluster registry, every node\'s unused images, never one a task runs', async () => {
    importImage('gc/used:1', 'used');
    importImage('gc/unused:1', 'unused');
    importImage('gc/old:1', 'first');
    // The other manager copies it before the tag moves, so it is left with a dangling image of its own.
    await eventually('the other manager has gc/old:1', () => clusterImages(hosts.hosts[1]).includes('gc/old:1'));
    importImage('gc/old:1', 'second'); // the tag moves: its first image is left dangling
    const dangling = clusterImages().filter((r) => r.startsWith('gc/old@sha256:'));
    assert.equal(dangling.length, 1, clusterImages().join(' '));
    await eventually('the other manager\'s copy dangling too', () => clusterImages(hosts.hosts[1]).includes(dangling[0]!));
    await runEverywhere('used', 'gc/used:1');
    await runEverywhere('gone', 'gc/unused:1');
    for (const h of hosts.hosts) assert.ok(has(h, 'gc/unused:1@') && has(h, 'gc/used:1@'), `${h.name}: ${nodeImages(h).join(' ')}`);
    const layersBefore = hosts.hosts.map(layerCount);
    hosts.ok(hosts.manager, ['service', 'rm', 'gone']);

    // A node keeps the image while the removed task's container is still stopping: prune again until each has let it go.
    let out = '';
    await eventually('every node pruned the removed service\'s image', () => {
      out += hosts.ok(hosts.manager, ['image', 'prune', '-f']);
      return hosts.hosts.every((h) => out.includes(`(on ${h.name})`));
    }, 60_000);
    assert.match(out, new RegExp(`^Deleted: ${dangling[0]!.replace(/[.@/]/g, '\\$&')}$`, 'm'));
    for (const h of hosts.hosts) {
      assert.match(out, new RegExp(`^Deleted: gc/unused:1@sha256:[0-9a-f]{64} \\(on ${h.name}\\)$`, 'm'));
      assert.ok(!has(h, 'gc/unused:1@') && has(h, 'gc/used:1@'), `${h.name}: ${nodeImages(h).join(' ')}`);
    }
    // The unused image's own layer went; busybox's, which the used image shares, stayed.
    assert.deepEqual(hosts.hosts.map(layerCount), layersBefore.map((n) => n - 1));
    assert.deepEqual(clusterImages(), ['gc/old:1', 'gc/unused:1', 'gc/used:1'], 'a tagged image is not dangling');
    await eventually('the other manager removed the dangling image too', () => !clusterImages(hosts.hosts[1]).some((r) => r.startsWith('gc/old@')));

    const all = hosts.ok(hosts.manager, ['image', 'prune', '--all', '--force']);
    assert.match(all, /^Deleted: gc\/unused:1$/m);
    assert.match(all, /^Deleted: gc\/old:1$/m);
    assert.deepEqual(clusterImages(), ['gc/used:1']);
    await eventually('the other manager agrees', () => clusterImages(hosts.hosts[1]).join() === 'gc/used:1');
    // What runs was never touched, and still restarts from what the node has.
    assert.equal(new Set(runningOn('used')).size, 3);
    assert.match(hosts.ok(hosts.manager, ['image', 'prune', '-f']), /^Nothing to remove$/m);
  });

  it('nodes collect unused images by themselves above the cluster\'s disk threshold', async () => {
    importImage('gc/later:1', 'later');
    await runEverywhere('later', 'gc/later:1');
    assert.ok(hosts.hosts.every((h) => has(h, 'gc/later:1@')));
    hosts.ok(hosts.manager, ['service', 'rm', 'later']);
    // Any disk here is fuller than 1 %: every node collects at once, keeping what its task uses.
    assert.match(hosts.ok(hosts.manager, ['update', '--image-gc-threshold', '1']), /^nodes remove unused images when their disk is over 1% full$/m);
    await eventually('every node dropped the unused image', () => hosts.hosts.every((h) => !has(h, 'gc/later:1@')), 30_000);
    assert.ok(hosts.hosts.every((h) => has(h, 'gc/used:1@')), 'the image a task runs stays');
    assert.equal(new Set(runningOn('used')).size, 3);
    hosts.ok(hosts.manager, ['update', '--image-gc-threshold', '100']);
    for (const bad of ['0', '101', 'lots']) {
      const r = hosts.cli(hosts.manager, ['update', '--image-gc-threshold', bad]);
      assert.equal(r.code, 1, r.stdout);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^error: (--image-gc-threshold: expected a percentage|image GC threshold must be a percentage from 1 to 100)/);
    }
  });

  it('a removal made while a manager was down reaches it when it starts again', async () => {
    importImage('gc/away:1', 'away');
    const other = hosts.hosts[1]!;
    await eventually('the other manager has the image', () => clusterImages(other).includes('gc/away:1'));
    const pidFile = path.join(other.dataRoot, 'manager.pid');
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    process.kill(pid, 'SIGSTOP');
    try {
      hosts.ok(hosts.manager, ['image', 'rm', 'gc/away:1']);
      assert.ok(!clusterImages().includes('gc/away:1'));
    } finally {
      // It never saw the record go: killed while stopped, its supervisor starts a new one.
      process.kill(pid, 'SIGKILL');
    }
    await eventually('a new manager process on the other host', () => {
      try {
        const now = Number(fs.readFileSync(pidFile, 'utf8'));
        process.kill(now, 0);
        return now !== pid;
      } catch {
        return false;
      }
    }, 60_000);
    await eventually('the restarted manager removed its copy', () => {
      try {
        return !clusterImages(other).includes('gc/away:1');
      } catch {
        return false;
      }
    }, 60_000);
  });
});
