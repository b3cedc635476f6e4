import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContainerController, type ControllerContext } from '../../../../agent/executor/container-controller';
import { TaskFiles } from '../../../../agent/executor/task-files';
import type { ExecResult, ExecSession } from '../../../../agent/runtime/exec';
import type { ImageSource } from '../../../../agent/image/types';
import type { ContainerConfig, ContainerInfo, Runtime } from '../../../../agent/runtime/types';
import { VolumeStore } from '../../../../agent/volumes/store';
import type { AssignedTask } from '../../../../shared/proto/codec';
import type { ContainerSpec, Mount } from '../../../../shared/types';
import { taskSpec } from '../../fixtures';
import { FakeVolumeSys } from '../volumes/fake-sys';

/** Records what it is asked to run and remove. */
class FakeRuntime implements Runtime {
  readonly runs: ContainerConfig[] = [];
  readonly removed: string[] = [];
  async run(cfg: ContainerConfig): Promise<ContainerInfo> {
    this.runs.push(cfg);
    return { id: cfg.id, status: 'running', pid: 42, shimPid: 41, exitCode: null, signal: null };
  }
  async inspect(): Promise<ContainerInfo | null> {
    return null;
  }
  async wait(): Promise<{ exitCode: number; signal: string | null }> {
    return { exitCode: 0, signal: null };
  }
  async kill(): Promise<void> {}
  async remove(id: string): Promise<void> {
    this.removed.push(id);
  }
  async list(): Promise<string[]> {
    return [];
  }
  async pause(): Promise<void> {}
  async isPaused(): Promise<boolean> {
    return false;
  }
  async exec(): Promise<ExecResult> {
    return { exitCode: 0, stdout: '', stderr: '' };
  }
  startExec(): ExecSession {
    throw new Error('not in these tests');
  }
}

const images: ImageSource = {
  prepare: async (ref) => ({ ref, digest: `sha256:${'0'.repeat(64)}`, layers: ['/layers/a'], config: { entrypoint: null, cmd: ['sh'], env: ['PATH=/bin'], workingDir: null, user: null } }),
};

const anonymous: Mount = { type: 'volume', source: '', target: '/scratch', readOnly: false, bind: null, volume: { noCopy: true, labels: {}, driver: null }, tmpfs: null };

function task(over: Partial<ContainerSpec> = {}): AssignedTask {
  return { id: 'task1', serviceId: 'svc1', serviceName: 'web', slot: 4, desiredState: 'running', spec: taskSpec({ container: over }), observedState: 'assigned', networks: [], paused: false, serviceLabels: {} };
}

describe('ContainerController: mounts and templates', () => {
  let tmp: string;
  let rt: FakeRuntime;
  let context: ControllerContext;
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'tsswarm-ctl-'));
    rt = new FakeRuntime();
    const sys = new FakeVolumeSys();
    context = {
      node: { id: 'node9', hostname: 'h9', platform: { os: 'linux', architecture: 'arm64' } },
      storage: { volumes: new VolumeStore({ root: join(tmp, 'volumes'), hostname: 'h9', sys }), files: new TaskFiles(join(tmp, 'run'), sys), blobs: { secret: () => null, config: () => null }, sys },
    };
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('runs the container with its templates expanded and its mounts resolved', async () => {
    const c = new ContainerController(task({ env: ['WHERE={{.Node.Hostname}}-{{.Node.Platform.Architecture}}'], hostname: '{{.Service.Name}}.{{.Task.Slot}}', mounts: [anonymous] }), rt, images, join(tmp, 'logs'), null, context);
    await c.prepare(new AbortController().signal);
    assert.equal(await c.start(), 42);
    const cfg = rt.runs[0];
    assert.ok(cfg);
    assert.ok(cfg.env.includes('WHERE=h9-arm64'), cfg.env.join(' '));
    assert.equal(cfg.hostname, 'web.4');
    assert.equal(cfg.mounts.length, 1);
    assert.equal(cfg.mounts[0]?.destination, '/scratch');
    const vol = await context.storage?.volumes.list();
    assert.equal(vol?.[0]?.mountpoint, cfg.mounts[0]?.source);
    assert.deepEqual(vol?.[0]?.inUse, ['task1']);
  });

  it('remove() knows the task by id alone: the container, then its anonymous volumes', async () => {
    await new ContainerController(task({ mounts: [anonymous] }), rt, images, join(tmp, 'logs'), null, context).prepare(new AbortController().signal);
    const mountpoint = (await context.storage?.volumes.list())?.[0]?.mountpoint ?? '';
    assert.ok(existsSync(mountpoint));
    await new ContainerController({ id: 'task1' } as AssignedTask, rt, images, join(tmp, 'logs'), null, context).remove();
    assert.deepEqual(rt.removed, ['task1']);
    assert.deepEqual(await context.storage?.volumes.list(), []);
    assert.equal(existsSync(mountpoint), false);
  });

  it('a bind whose source is missing rejects the task before any container is made', async () => {
    const m: Mount = { type: 'bind', source: join(tmp, 'nope'), target: '/x', readOnly: false, bind: { propagation: 'rprivate', createHostPath: false }, volume: null, tmpfs: null };
    const c = new ContainerController(task({ mounts: [m] }), rt, images, join(tmp, 'logs'), null, context);
    await assert.rejects(c.prepare(new AbortController().signal), { message: `invalid mount config for type "bind": bind source path does not exist: ${join(tmp, 'nope')}` });
    assert.deepEqual(rt.runs, []);
  });
});

describe('ContainerController: logging', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'tsswarm-ctl-log-'));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('the task\'s logging driver becomes how the log file is written, beside the same log path', async () => {
    const rt = new FakeRuntime();
    const t = task();
    const c = new ContainerController({ ...t, spec: { ...t.spec, logDriver: { name: 'json-file', options: { 'max-size': '100k', 'max-file': '3' } } } }, rt, images, join(tmp, 'logs'), null);
    await c.prepare(new AbortController().signal);
    await c.start();
    assert.deepEqual(rt.runs[0]?.log, { kind: 'rotate', maxBytes: 100_000, maxFiles: 3, framed: true });
    assert.equal(rt.runs[0]?.logPath, join(tmp, 'logs', 'task1.log'));
  });

  it('no logging is the plain file; bad options fail the task before any container is made', async () => {
    const rt = new FakeRuntime();
    const c = new ContainerController(task(), rt, images, join(tmp, 'logs'), null);
    await c.prepare(new AbortController().signal);
    await c.start();
    assert.deepEqual(rt.runs[0]?.log, { kind: 'file', framed: true });
    const t = task();
    const bad = new ContainerController({ ...t, spec: { ...t.spec, logDriver: { name: 'local', options: { 'max-file': '0' } } } }, rt, images, join(tmp, 'logs'), null);
    await assert.rejects(bad.prepare(new AbortController().signal), { code: 'INVALID_LOG_OPTION', message: 'max-file cannot be less than 1' });
    assert.equal(rt.runs.length, 1);
  });
});

describe('ContainerController: tty and stdin_open', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'tsswarm-ctl-tty-'));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  const configOf = async (over: Partial<ContainerSpec>): Promise<ContainerConfig | undefined> => {
    const rt = new FakeRuntime();
    const c = new ContainerController(task(over), rt, images, join(tmp, 'logs'), null);
    await c.prepare(new AbortController().signal);
    await c.start();
    return rt.runs[0];
  };

  it('the service\'s tty and openStdin reach the container as they are', async () => {
    const both = await configOf({ tty: true, openStdin: true });
    assert.equal(both?.tty, true);
    assert.equal(both?.openStdin, true);
    const stdinOnly = await configOf({ openStdin: true });
    assert.equal(stdinOnly?.tty, false);
    assert.equal(stdinOnly?.openStdin, true);
  });

  it('a spec from before the fields (absent) is neither', async () => {
    const old = await configOf({});
    assert.equal(old?.tty, false);
    assert.equal(old?.openStdin, false);
  });
});
