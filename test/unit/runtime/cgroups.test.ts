import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CgroupV1Driver,
  CgroupV2Driver,
  checkCgroupName,
  cpuQuotaUs,
  detectCgroupDriver,
} from '../../../agent/runtime/cgroups';
import { CgroupError } from '../../../agent/runtime/errors';

const NO_LIMITS = { memoryBytes: null, nanoCpus: null, pids: null };

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

const read = (f: string): string => readFileSync(f, 'utf8');

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

describe('cpuQuotaUs', () => {
  it('turns nanoCpus into a quota per 100ms period', () => {
    assert.equal(cpuQuotaUs(1.5e9), 150_000);
    assert.equal(cpuQuotaUs(5e8), 50_000);
    assert.equal(cpuQuotaUs(2e9), 200_000);
  });
  it('never goes below the kernel minimum of 1ms', () => {
    assert.equal(cpuQuotaUs(1), 1000);
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

describe('cgroup v2 driver on a fake tree', () => {
  let root = '';
  before(() => {
    root = fakeV2();
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('creates <parent>/<id>, enables controllers on every ancestor and writes the limits', () => {
    const d = new CgroupV2Driver(root);
    const spec = d.create('tsswarm/node1', 'c1', { memoryBytes: 64 << 20, nanoCpus: 1.5e9, pids: 100 });
    const dir = join(root, 'tsswarm', 'node1', 'c1');
    assert.deepEqual(spec, { version: 2, dirs: [dir] });
    assert.deepEqual(d.plan('tsswarm/node1', 'c1'), spec);
    assert.equal(read(join(dir, 'memory.max')), String(64 << 20));
    assert.equal(read(join(dir, 'cpu.max')), '150000 100000');
    assert.equal(read(join(dir, 'pids.max')), '100');
    for (const anc of [root, join(root, 'tsswarm'), join(root, 'tsswarm', 'node1')]) {
      assert.equal(read(join(anc, 'cgroup.subtree_control')), '+cpu +memory +pids', anc);
    }
    assert.equal(existsSync(join(dir, 'cgroup.subtree_control')), false, 'the leaf holds processes, not children');
    assert.deepEqual(d.procsFiles(spec), [join(dir, 'cgroup.procs')]);
  });

  it('writes no limit files when there are no limits, and only enables missing controllers', () => {
    const d = new CgroupV2Driver(root);
    writeFileSync(join(root, 'tsswarm', 'cgroup.subtree_control'), 'cpu memory pids\n');
    const spec = d.create('tsswarm', 'c2', NO_LIMITS);
    const dir = join(root, 'tsswarm', 'c2');
    assert.equal(existsSync(join(dir, 'memory.max')), false);
    assert.equal(existsSync(join(dir, 'cpu.max')), false);
    assert.equal(read(join(root, 'tsswarm', 'cgroup.subtree_control')), 'cpu memory pids\n', 'not rewritten');
    d.addProcess(spec, 4242);
    assert.equal(read(join(dir, 'cgroup.procs')), '4242');
  });

  it('refuses an existing cgroup', () => {
    const d = new CgroupV2Driver(root);
    d.create('tsswarm', 'dup', NO_LIMITS);
    assert.throws(() => d.create('tsswarm', 'dup', NO_LIMITS), CgroupError);
  });

  it('refuses a limit whose controller the root does not offer', () => {
    const r = fakeV2('cpu io');
    try {
      const d = new CgroupV2Driver(r);
      assert.throws(() => d.create('tsswarm', 'c', { memoryBytes: 1 << 20, nanoCpus: null, pids: null }), /memory controller/);
      assert.equal(existsSync(join(r, 'tsswarm', 'c')), false, 'nothing created');
      d.create('tsswarm', 'ok', { memoryBytes: null, nanoCpus: 1e9, pids: null });
      assert.equal(read(join(r, 'cgroup.subtree_control')), '+cpu', 'only offered controllers are enabled');
    } finally {
      rmSync(r, { recursive: true, force: true });
    }
  });

  it('works on a tree that offers no controllers (the hybrid /sys/fs/cgroup/unified)', () => {
    const r = fakeV2('');
    try {
      const spec = new CgroupV2Driver(r).create('tsswarm/deep', 'c', NO_LIMITS);
      assert.ok(existsSync(spec.dirs[0] ?? ''));
      assert.equal(read(join(r, 'cgroup.subtree_control')), '', 'nothing to enable');
    } finally {
      rmSync(r, { recursive: true, force: true });
    }
  });

  it('remove deletes the dir and is idempotent', async () => {
    const d = new CgroupV2Driver(root);
    const spec = d.create('tsswarm', 'gone', NO_LIMITS);
    // A real cgroupfs dir has no removable regular files; the fake one must be emptied first.
    rmSync(join(root, 'tsswarm', 'gone', 'cgroup.procs'), { force: true });
    await d.remove(spec);
    assert.equal(existsSync(join(root, 'tsswarm', 'gone')), false);
    await d.remove(spec);
  });

  it('reads stats', () => {
    const d = new CgroupV2Driver(root);
    const spec = d.create('tsswarm', 'stats', NO_LIMITS);
    const dir = join(root, 'tsswarm', 'stats');
    writeFileSync(join(dir, 'memory.current'), '1234\n');
    writeFileSync(join(dir, 'pids.current'), '3\n');
    writeFileSync(join(dir, 'cpu.stat'), 'usage_usec 250\nuser_usec 200\n');
    assert.deepEqual(d.stats(spec), { memoryBytes: 1234, pids: 3, cpuNanos: 250_000 });
  });
});

describe('cgroup v1 driver on a fake tree', () => {
  let root = '';
  before(() => {
    root = fakeV1();
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('creates the cgroup in every mounted hierarchy (as the shim joins them) and writes the limits', () => {
    const d = new CgroupV1Driver(root);
    const spec = d.create('tsswarm', 'c1', { memoryBytes: 64 << 20, nanoCpus: 5e8, pids: 50 });
    const dirs = ['cpu', 'cpuacct', 'cpuset', 'devices', 'freezer', 'memory', 'pids'].map((c) => join(root, c, 'tsswarm', 'c1'));
    assert.deepEqual(spec, { version: 1, dirs });
    assert.deepEqual(d.plan('tsswarm', 'c1'), spec);
    for (const dir of dirs) assert.ok(existsSync(dir), dir);
    assert.equal(read(join(root, 'memory', 'tsswarm', 'c1', 'memory.limit_in_bytes')), String(64 << 20));
    assert.equal(read(join(root, 'cpu', 'tsswarm', 'c1', 'cpu.cfs_period_us')), '100000');
    assert.equal(read(join(root, 'cpu', 'tsswarm', 'c1', 'cpu.cfs_quota_us')), '50000');
    assert.equal(read(join(root, 'pids', 'tsswarm', 'c1', 'pids.max')), '50');
    assert.deepEqual(d.procsFiles(spec), dirs.map((x) => join(x, 'cgroup.procs')));
    d.addProcess(spec, 77);
    for (const dir of dirs) assert.equal(read(join(dir, 'cgroup.procs')), '77');
  });

  it('treats a combined cpu,cpuacct mount as one hierarchy', async () => {
    const r = fakeV1(['memory', 'cpu,cpuacct', 'pids', 'freezer']);
    symlinkSync('cpu,cpuacct', join(r, 'cpu'));
    symlinkSync('cpu,cpuacct', join(r, 'cpuacct'));
    try {
      const d = new CgroupV1Driver(r);
      const spec = d.create('tsswarm', 'c', { memoryBytes: null, nanoCpus: 1e9, pids: null });
      assert.deepEqual(
        spec.dirs,
        ['cpu', 'freezer', 'memory', 'pids'].map((c) => join(r, c, 'tsswarm', 'c')),
      );
      assert.equal(read(join(r, 'cpu,cpuacct', 'tsswarm', 'c', 'cpu.cfs_quota_us')), '100000');
    } finally {
      rmSync(r, { recursive: true, force: true });
    }
  });

  it('undoes the directories when a limit cannot be applied', () => {
    const r = fakeV1(['memory', 'cpu', 'freezer']);
    try {
      const d = new CgroupV1Driver(r);
      assert.throws(() => d.create('tsswarm', 'c', { memoryBytes: null, nanoCpus: null, pids: 10 }), /pids cgroup controller/);
      for (const c of ['memory', 'cpu', 'freezer']) assert.equal(existsSync(join(r, c, 'tsswarm', 'c')), false, c);
    } finally {
      rmSync(r, { recursive: true, force: true });
    }
  });

  it('remove deletes the cgroup from every hierarchy, freezer included', async () => {
    const d = new CgroupV1Driver(root);
    const spec = d.create('tsswarm', 'rm', NO_LIMITS);
    await d.remove(spec);
    for (const dir of spec.dirs) assert.equal(existsSync(dir), false, dir);
    await d.remove(spec);
  });
});
