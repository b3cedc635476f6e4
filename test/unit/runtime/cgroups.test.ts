import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CgroupV1Driver, CgroupV2Driver, checkCgroupName, detectCgroupDriver } from '../../../agent/runtime/cgroups';
import { CgroupError } from '../../../agent/runtime/errors';

function fakeV2(controllers = 'cpuset cpu io memory hugetlb pids rdma misc'): string {
  const root = mkdtempSync(join(tmpdir(), 'cg2-'));
  writeFileSync(join(root, 'cgroup.controllers'), `${controllers}\n`);
  writeFileSync(join(root, 'cgroup.subtree_control'), '');
  return root;
}

function fakeV1(controllers: string[] = ['memory', 'cpu', 'cpuacct', 'pids', 'freezer', 'cpuset', 'devices']): string {
  const root = mkdtempSync(join(tmpdir(), 'cg1-'));
  for (const c of controllers) {
    mkdirSync(join(root, c));
    writeFileSync(join(root, c, 'cgroup.procs'), '');
  }
  return root;
}


describe('cgroup detection', () => {
  const roots: string[] = [];
  after(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

  it('is v2 when the root has cgroup.controllers', () => {
    const r = fakeV2();
    roots.push(r);
    assert.equal(detectCgroupDriver(r).version, 2);
  });

  it('is v1 otherwise', () => {
    const r = fakeV1();
    roots.push(r);
    assert.equal(detectCgroupDriver(r).version, 1);
  });
});

describe('checkCgroupName', () => {
  it('accepts nested parents', () => {
    checkCgroupName('tsswarm/host1', 'abc');
  });
  it('rejects escapes and empty names', () => {
    for (const [p, id] of [['..', 'a'], ['a/../..', 'b'], ['', 'a'], ['tsswarm', '..'], ['tsswarm', 'a/b'], ['tsswarm', '']] as const) {
      assert.throws(() => checkCgroupName(p, id), CgroupError, `${p} ${id}`);
    }
  });
});

/*
 * What the agent still does with cgroups itself: find a container's directories (plan), read its
 * figures (stats) and remove them after the container (remove). Creating them, with the limits and
 * device rules, is the runtime's (native/src/cgroup.cc, tested on fake trees in
 * test/integration/oci-cli.test.ts).
 */
describe('cgroup v2 driver on a fake tree', () => {
  let root = '';
  before(() => {
    root = fakeV2();
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('plans <parent>/<id> in the unified tree', () => {
    assert.deepEqual(new CgroupV2Driver(root).plan('tsswarm/node1', 'c1'), { version: 2, dirs: [join(root, 'tsswarm', 'node1', 'c1')] });
  });

  it('remove deletes the dir and is idempotent', async () => {
    const d = new CgroupV2Driver(root);
    const spec = d.plan('tsswarm', 'gone');
    mkdirSync(spec.dirs[0] ?? '', { recursive: true });
    await d.remove(spec);
    assert.equal(existsSync(join(root, 'tsswarm', 'gone')), false);
    await d.remove(spec);
  });

  it('reads stats', () => {
    const d = new CgroupV2Driver(root);
    const spec = d.plan('tsswarm', 'stats');
    const dir = spec.dirs[0] ?? '';
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'memory.current'), '1234\n');
    writeFileSync(join(dir, 'pids.current'), '3\n');
    writeFileSync(join(dir, 'cpu.stat'), 'usage_usec 250\nuser_usec 200\n');
    assert.deepEqual(d.stats(spec), { memoryBytes: 1234, pids: 3, cpuNanos: 250_000 });
  });
});

describe('cgroup v1 driver on a fake tree', () => {
  it('plans the cgroup in every mounted hierarchy, as the runtime joins them', () => {
    const root = fakeV1();
    try {
      const dirs = ['cpu', 'cpuacct', 'cpuset', 'devices', 'freezer', 'memory', 'pids'].map((c) => join(root, c, 'tsswarm', 'c1'));
      assert.deepEqual(new CgroupV1Driver(root).plan('tsswarm', 'c1'), { version: 1, dirs });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('treats a combined cpu,cpuacct mount as one hierarchy', () => {
    const r = fakeV1(['memory', 'cpu,cpuacct', 'pids', 'freezer']);
    symlinkSync('cpu,cpuacct', join(r, 'cpu'));
    symlinkSync('cpu,cpuacct', join(r, 'cpuacct'));
    try {
      assert.deepEqual(
        new CgroupV1Driver(r).plan('tsswarm', 'c').dirs,
        ['cpu', 'freezer', 'memory', 'pids'].map((c) => join(r, c, 'tsswarm', 'c')),
      );
    } finally {
      rmSync(r, { recursive: true, force: true });
    }
  });

  it('leaves out directories that are not hierarchies (no cgroup.procs) and cgroup2 mounts', () => {
    const r = fakeV1(['memory', 'pids']);
    mkdirSync(join(r, 'not-a-cgroup'));
    mkdirSync(join(r, 'unified'));
    writeFileSync(join(r, 'unified', 'cgroup.procs'), '');
    writeFileSync(join(r, 'unified', 'cgroup.controllers'), '');
    try {
      assert.deepEqual(new CgroupV1Driver(r).plan('p', 'c').dirs, [join(r, 'memory', 'p', 'c'), join(r, 'pids', 'p', 'c')]);
    } finally {
      rmSync(r, { recursive: true, force: true });
    }
  });

  it('remove deletes the cgroup from every hierarchy and is idempotent; stats read the v1 files', async () => {
    const root = fakeV1();
    try {
      const d = new CgroupV1Driver(root);
      const spec = d.plan('tsswarm', 'rm');
      for (const dir of spec.dirs) mkdirSync(dir, { recursive: true });
      writeFileSync(join(root, 'memory', 'tsswarm', 'rm', 'memory.usage_in_bytes'), '4096\n');
      writeFileSync(join(root, 'pids', 'tsswarm', 'rm', 'pids.current'), '2\n');
      writeFileSync(join(root, 'cpuacct', 'tsswarm', 'rm', 'cpuacct.usage'), '777\n');
      assert.deepEqual(d.stats(spec), { memoryBytes: 4096, pids: 2, cpuNanos: 777 });
      for (const f of ['memory/tsswarm/rm/memory.usage_in_bytes', 'pids/tsswarm/rm/pids.current', 'cpuacct/tsswarm/rm/cpuacct.usage']) rmSync(join(root, f));
      await d.remove(spec);
      for (const dir of spec.dirs) assert.equal(existsSync(dir), false, dir);
      await d.remove(spec);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
