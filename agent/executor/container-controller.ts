/** The Controller backed by the native runtime and the image cache. */
import * as path from 'node:path';
import type { AssignedTask } from '../../shared/proto/codec';
import type { Runtime, ContainerConfig, ExitStatus } from '../runtime/types';
import type { ImageSource, ImageConfig } from '../image/types';
import type { Controller } from './controller';
import type { NodeNetworks } from '../network/node-networks';
import { shortId } from '../../shared/ids';

export class TaskError extends Error {}

/** Docker's rules: a service's entrypoint replaces the image's and drops the image's CMD. */
export function resolveArgs(task: AssignedTask, image: ImageConfig): string[] {
  const entrypoint = task.spec.container.entrypoint ?? image.entrypoint ?? [];
  const cmd = task.spec.container.command ?? (task.spec.container.entrypoint !== null ? [] : image.cmd ?? []);
  return [...entrypoint, ...cmd];
}

/** Image env first, then the service's, a later KEY replacing an earlier one. */
export function mergeEnv(imageEnv: string[], taskEnv: string[]): string[] {
  const out = new Map<string, string>();
  for (const e of [...imageEnv, ...taskEnv]) {
    const i = e.indexOf('=');
    out.set(i < 0 ? e : e.slice(0, i), e);
  }
  return [...out.values()];
}

export class ContainerController implements Controller {
  private config: ContainerConfig | null = null;

  constructor(
    private readonly task: AssignedTask,
    private readonly runtime: Runtime,
    private readonly images: ImageSource,
    private readonly logsDir: string,
    private readonly networks: NodeNetworks | null,
  ) {}

  async prepare(signal: AbortSignal): Promise<void> {
    const image = await this.images.prepare(this.task.spec.container.image, signal);
    const args = resolveArgs(this.task, image.config);
    if (args.length === 0) throw new TaskError(`no command: image ${this.task.spec.container.image} has none and the service gives none`);
    const hostname = this.task.spec.container.hostname ?? shortId(this.task.id);
    const sandbox = this.networks ? await this.networks.prepare(this.task, hostname) : null;
    this.config = {
      id: this.task.id,
      lowerDirs: image.layers,
      args,
      env: mergeEnv(image.config.env, this.task.spec.container.env),
      cwd: this.task.spec.container.workingDir ?? image.config.workingDir ?? '/',
      user: this.task.spec.container.user ?? image.config.user ?? null,
      hostname,
      limits: this.task.spec.resources.limits,
      logPath: path.join(this.logsDir, `${this.task.id}.log`),
      netns: sandbox?.netns ?? null,
      files: sandbox?.files ?? [],
      runtime: this.task.spec.container.runtime,
    };
  }

  async start(): Promise<number> {
    if (!this.config) throw new TaskError('start before prepare');
    const info = await this.runtime.run(this.config);
    if (info.pid === null) throw new TaskError('container started without a pid');
    return info.pid;
  }

  wait(signal: AbortSignal): Promise<ExitStatus> {
    return this.runtime.wait(this.task.id, signal);
  }

  async shutdown(): Promise<void> {
    const info = await this.runtime.inspect(this.task.id);
    if (!info || info.status !== 'running') return;
    const ac = new AbortController();
    const exited = this.runtime.wait(this.task.id, ac.signal).then(() => true, () => false);
    // The service's stop_signal (Docker's SIGTERM by default); a real-time signal has no Node name.
    await this.runtime.kill(this.task.id, (this.task.spec.container.runtime.stopSignal ?? 'SIGTERM') as NodeJS.Signals).catch(() => undefined);
    let timer: NodeJS.Timeout | null = null;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), this.task.spec.container.stopGracePeriodMs);
    });
    const done = await Promise.race([exited, timeout]);
    if (timer) clearTimeout(timer);
    if (!done) {
      await this.runtime.kill(this.task.id, 'SIGKILL').catch(() => undefined);
      await exited;
    }
    ac.abort();
  }

  async terminate(): Promise<void> {
    const info = await this.runtime.inspect(this.task.id);
    if (!info || info.status !== 'running') return;
    // SIGKILL reaches a frozen process only once it is thawed.
    if (await this.runtime.isPaused(this.task.id)) await this.runtime.pause(this.task.id, false).catch(() => undefined);
    const ac = new AbortController();
    const exited = this.runtime.wait(this.task.id, ac.signal).catch(() => undefined);
    await this.runtime.kill(this.task.id, 'SIGKILL').catch(() => undefined);
    await exited;
  }

  async remove(): Promise<void> {
    await this.runtime.remove(this.task.id);
    await this.networks?.release(this.task.id);
  }

  pause(paused: boolean): Promise<void> {
    return this.runtime.pause(this.task.id, paused);
  }

  paused(): Promise<boolean> {
    return this.runtime.isPaused(this.task.id);
  }

  async running(): Promise<number | null> {
    const info = await this.runtime.inspect(this.task.id);
    return info && info.status === 'running' ? info.pid : null;
  }
}
