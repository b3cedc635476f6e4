/** The Controller backed by the native runtime and the image cache. */
import { hostname as osHostname } from 'node:os';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AssignedTask } from '../../shared/proto/codec';
import { hostArchitecture } from '../../shared/oci';
import type { Runtime, ContainerConfig, ExitStatus } from '../runtime/types';
import type { ImageSource, ImageConfig } from '../image/types';
import type { Controller } from './controller';
import type { NodeNetworks } from '../network/node-networks';
import { shortId } from '../../shared/ids';
import { TaskError } from './errors';
import { containerLog } from './log-options';
import { expandContainerSpec, templateContext, type NodeFacts } from './templates';
import { prepareTaskMounts, releaseTaskMounts, type TaskStorage } from './task-mounts';
import { HEALTH_OUTPUT_BYTES, HealthMonitor, resolveHealth, type HealthReport, type ResolvedHealth } from '../health/monitor';
import { UnhealthyError } from './errors';
import type { HealthCheck } from '../../shared/types';
import { removeLogFiles } from '../logs/reader';

export { TaskError } from './errors';

/**
 * The predefined `host` network: the agent's own network namespace (the host's), and the host's
 * name resolution files, as Docker gives a container on `--network host`.
 */
function hostNetworkSandbox(): { netns: string; files: { path: string; content: string }[] } {
  const read = (p: string): string | null => {
    try {
      return fs.readFileSync(p, 'utf8');
    } catch {
      return null;
    }
  };
  const files: { path: string; content: string }[] = [];
  for (const p of ['/etc/resolv.conf', '/etc/hosts']) {
    const content = read(p);
    if (content !== null) files.push({ path: p, content });
  }
  return { netns: `/proc/${process.pid}/ns/net`, files };
}

/** What a controller knows of the node it runs on. */
export interface ControllerContext {
  /** `{{.Node.*}}` of the task's templates. */
  node: NodeFacts;
  /** Volumes, secrets and configs; null: tasks that use any of them fail. */
  storage: TaskStorage | null;
}

/** This host under its own name, for controllers made without a node identity (tests, tools). */
export function localContext(): ControllerContext {
  return { node: { id: '', hostname: osHostname(), platform: { os: 'linux', architecture: hostArchitecture() } }, storage: null };
}

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
  /** The image's HEALTHCHECK, known after prepare (undefined: not read yet, as after a re-attach). */
  private imageHealth: HealthCheck | null | undefined = undefined;
  private health: HealthMonitor | null = null;
  private healthListener: ((r: HealthReport) => void) | null = null;

  constructor(
    private readonly task: AssignedTask,
    private readonly runtime: Runtime,
    private readonly images: ImageSource,
    private readonly logsDir: string,
    private readonly networks: NodeNetworks | null,
    private readonly context: ControllerContext = localContext(),
  ) {}

  private logPath(): string {
    return path.join(this.logsDir, `${this.task.id}.log`);
  }

  async prepare(signal: AbortSignal): Promise<void> {
    // Swarm's templates first: everything below reads the task's own values.
    const c = expandContainerSpec(this.task.spec.container, templateContext(this.task, this.context.node, this.task.serviceLabels));
    const image = await this.images.prepare(c.image, signal);
    this.imageHealth = image.config.healthcheck ?? null;
    const args = resolveArgs(this.task, image.config);
    if (args.length === 0) throw new TaskError(`no command: image ${c.image} has none and the service gives none`);
    const hostNetwork = this.task.spec.hostNetwork;
    // On the host's network a container is named as its host is (Docker's --network host).
    const hostname = c.hostname ?? (hostNetwork ? this.context.node.hostname : shortId(this.task.id));
    const mounts = await prepareTaskMounts(this.task.id, c, image, this.context.storage, signal);
    const sandbox = hostNetwork ? hostNetworkSandbox() : this.networks ? await this.networks.prepare(this.task, hostname) : null;
    this.config = {
      id: this.task.id,
      lowerDirs: image.layers,
      args,
      env: mergeEnv(image.config.env, c.env),
      cwd: c.workingDir ?? image.config.workingDir ?? '/',
      user: c.user ?? image.config.user ?? null,
      hostname,
      limits: this.task.spec.resources.limits,
      logPath: this.logPath(),
      log: containerLog(this.task.spec.logDriver),
      // Absent in specs from before them: false.
      tty: c.tty ?? false,
      openStdin: c.openStdin ?? false,
      netns: sandbox?.netns ?? null,
      files: sandbox?.files ?? [],
      runtime: c.runtime,
      mounts,
    };
  }

  async start(): Promise<number> {
    if (!this.config) throw new TaskError('start before prepare');
    const info = await this.runtime.run(this.config);
    if (info.pid === null) throw new TaskError('container started without a pid');
    return info.pid;
  }

  onHealth(listener: (r: HealthReport) => void): void {
    this.healthListener = listener;
  }

  async wait(signal: AbortSignal): Promise<ExitStatus> {
    const monitor = await this.startHealth(signal);
    if (monitor === null) return this.runtime.wait(this.task.id, signal);
    const ac = new AbortController();
    const forward = () => ac.abort(signal.reason);
    signal.addEventListener('abort', forward, { once: true });
    try {
      const outcome = await Promise.race([
        this.runtime.wait(this.task.id, ac.signal).then((exit) => ({ exit })),
        monitor.unhealthy().then(() => ({ exit: null })),
      ]);
      if (outcome.exit !== null) {
        this.stopHealth();
        return outcome.exit;
      }
    } finally {
      signal.removeEventListener('abort', forward);
      ac.abort();
    }
    // Unhealthy: stopped as a shutdown would stop it, and the task fails (the restart policy replaces it).
    this.stopHealth();
    await this.shutdown();
    throw new UnhealthyError();
  }

  /** The running container's health monitor, started on the first wait (after a re-attach too); null without a check. */
  private async startHealth(signal: AbortSignal): Promise<HealthMonitor | null> {
    if (this.health !== null) return this.health;
    const spec = this.task.spec.container.healthcheck;
    // The service's test decides alone; without one, the image's HEALTHCHECK (read again after a re-attach).
    if (this.imageHealth === undefined && (spec === null || spec.test.length === 0)) {
      this.imageHealth = (await this.images.prepare(this.task.spec.container.image, signal).catch(() => null))?.config.healthcheck ?? null;
    }
    const cfg = resolveHealth(spec, this.imageHealth ?? null);
    if (cfg === null) return null;
    this.health = new HealthMonitor(cfg, (timeoutMs, s) => this.probe(cfg, s), (r) => this.healthListener?.(r));
    this.health.start();
    return this.health;
  }

  private async probe(cfg: ResolvedHealth, signal: AbortSignal): Promise<{ exitCode: number; output: string } | null> {
    // A frozen container is not probed (Docker skips checks while paused).
    if (await this.runtime.isPaused(this.task.id)) return null;
    const r = await this.runtime.exec(this.task.id, { args: cfg.args, signal, maxOutputBytes: HEALTH_OUTPUT_BYTES });
    return { exitCode: r.exitCode, output: `${r.stdout}${r.stderr}` };
  }

  private stopHealth(): void {
    this.health?.stop();
    this.health = null;
  }

  async shutdown(): Promise<void> {
    this.stopHealth();
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
    this.stopHealth();
    const info = await this.runtime.inspect(this.task.id);
    if (!info || info.status !== 'running') return;
    // SIGKILL reaches a frozen process only once it is thawed.
    if (await this.runtime.isPaused(this.task.id)) await this.runtime.pause(this.task.id, false).catch(() => undefined);
    const ac = new AbortController();
    const exited = this.runtime.wait(this.task.id, ac.signal).catch(() => undefined);
    await this.runtime.kill(this.task.id, 'SIGKILL').catch(() => undefined);
    await exited;
  }

  /** Works from the task id alone (the executor removes containers it no longer knows the task of). */
  async remove(): Promise<void> {
    this.stopHealth();
    // The container first: its mounts are released only once nothing runs on them.
    await this.runtime.remove(this.task.id);
    let failure: unknown = null;
    await this.networks?.release(this.task.id).catch((e: unknown) => (failure ??= e));
    await releaseTaskMounts(this.task.id, this.context.storage).catch((e: unknown) => (failure ??= e));
    // Its log goes with it, as a Docker container's does (the task is out of the history by now).
    await removeLogFiles(this.logPath()).catch((e: unknown) => (failure ??= e));
    if (failure !== null) throw failure;
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
