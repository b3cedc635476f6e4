/**
 * The build executor: a Dockerfile's plan (stages.ts) run stage by stage, instruction by
 * instruction, into an OCI image.
 *
 * - Each step that changes files (RUN, COPY, ADD, WORKDIR's directory) makes one layer: its
 *   overlayfs upper directory, whiteouts and all (layer-from-upper.ts); the others change the
 *   config and leave an `empty_layer` history entry.
 * - A step's cache key is the key before it, the instruction as written, the variables in
 *   scope, and what it depends on beyond that (a RUN's argv, environment and network; a COPY's
 *   files by content, tree-digest.ts). A key the build root has a layer for is not run again;
 *   `--no-cache` runs everything. Editing one step changes its key and every key after it, so
 *   only those are rebuilt.
 * - Errors name the Dockerfile line (`Dockerfile:7: COPY failed: ...`); a failing RUN has shown
 *   its output and says its exit code. Nothing is tagged unless the whole build succeeded.
 */
import { createHash } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { chainIds, hostArchitecture, type ContainerConfigJson } from '../../../shared/oci';
import type { RegistryClient } from '../../../shared/registry/client';
import type { Runtime } from '../../runtime';
import type { MountOps } from '../../runtime/sys';
import type { ImageCache } from '../cache';
import { baseImage } from './base-image';
import type { BuildLayer, BuildRoot } from './build-root';
import { assembleImage, type BuiltImage, type HistoryEntry } from './built-image';
import { copyKey, copyStep, type CopySources } from './copy-step';
import { DockerfileError, formatWarning } from './diagnostics';
import { parseDockerfile, parseTrigger } from './dockerfile-parse';
import type { AddInstruction, CopyInstruction, RunInstruction, StageInstruction } from './dockerfile-types';
import { argValues, expandInstruction } from './expand-instruction';
import { fsStep, withLayersMounted } from './fs-step';
import { DEFAULT_PATH, applyConfig, argvOf, envVars, joinWorkdir } from './image-config';
import { layerFromUpper } from './layer-from-upper';
import { resolveInRoot } from './rootfs-path';
import { STEP_ONLY_FILES, runStep } from './run-step';
import { planStages, resolveFrom, type BuildPlan, type PlannedStage } from './stages';
import type { BuildContext } from './build-context';

export interface BuildRequest {
  context: BuildContext;
  /** The Dockerfile's text and the name errors use (`Dockerfile`, `app.Dockerfile`). */
  dockerfile: { text: string; name: string };
  buildArgs: Record<string, string>;
  target: string | null;
  noCache: boolean;
  /** RUN's network unless a step says `--network=` (Docker's default is a network with outside access). */
  network: 'host' | 'none';
}

export interface BuildTools {
  root: BuildRoot;
  runtime: Runtime;
  sys: MountOps;
  /** The cluster registry. */
  registry: RegistryClient;
  /** The base images' layers (under the build root). */
  images: ImageCache;
  /** Has the cluster pull an image it does not have (a base image named for the first time). */
  ensureImage: (ref: string) => Promise<void>;
  /** Progress and the steps' output, as Docker's classic builder prints them. */
  out: (text: string) => void;
  signal: AbortSignal;
}

export interface BuildResult extends BuiltImage {
  warnings: string[];
  /** Steps taken from the cache, and run. */
  cached: number;
  ran: number;
}

/** A stage as far as it is built. */
interface StageState {
  key: string;
  layers: BuildLayer[];
  config: ContainerConfigJson;
  history: HistoryEntry[];
  author?: string;
}

const sha = (...parts: string[]) => 'sha256:' + createHash('sha256').update(parts.join('\0')).digest('hex');
const short = (digest: string) => digest.slice(7, 19);

export async function buildImage(req: BuildRequest, tools: BuildTools): Promise<BuildResult> {
  const parsed = parseDockerfile(req.dockerfile.text, req.dockerfile.name);
  const platform = `linux/${hostArchitecture()}`;
  const plan = planStages(parsed, {
    ...(req.target ? { target: req.target } : {}),
    buildArgs: req.buildArgs,
    automaticArgs: { TARGETPLATFORM: platform, TARGETOS: 'linux', TARGETARCH: hostArchitecture(), BUILDPLATFORM: platform, BUILDOS: 'linux', BUILDARCH: hostArchitecture() },
  });
  const warnings = plan.warnings.map(formatWarning);
  for (const w of warnings) tools.out(`[Warning] ${w}\n`);
  await tools.root.open();
  const b = new Build(req, tools, plan);
  const state = await b.run();
  const image = assembleImage(state.config, state.layers, state.history, state.author ? { author: state.author } : {});
  return { ...image, warnings, cached: b.cached, ran: b.ran };
}

class Build {
  private readonly done = new Map<number, StageState>();
  private step = 0;
  /** Steps in all: the planned stages' instructions, and the ONBUILD triggers of base images once they are read. */
  private total: number;
  cached = 0;
  ran = 0;

  constructor(
    private readonly req: BuildRequest,
    private readonly t: BuildTools,
    private readonly plan: BuildPlan,
  ) {
    this.total = plan.stages.reduce((n, s) => n + 1 + s.triggers.length + s.instructions.length, 0);
  }

  async run(): Promise<StageState> {
    for (const stage of this.plan.stages) this.done.set(stage.index, await this.stage(stage));
    return this.done.get(this.plan.target)!;
  }

  private say(text: string): void {
    this.t.out(text);
  }

  private at(line: number) {
    return { file: this.plan.file, escape: this.plan.escape, line };
  }

  private async stage(stage: PlannedStage): Promise<StageState> {
    this.say(`Step ${++this.step}/${this.total} : ${this.fromLine(stage)}\n`);
    if (stage.platform !== null && stage.platform !== `linux/${hostArchitecture()}` && stage.platform !== 'linux') {
      throw new DockerfileError(this.plan.file, stage.line, `FROM --platform=${stage.platform}: this host builds linux/${hostArchitecture()} images only`);
    }
    let s: StageState;
    const triggers: StageInstruction[] = [...stage.triggers];
    if (stage.base.kind === 'scratch') {
      s = { key: sha('scratch'), layers: [], config: { Env: [DEFAULT_PATH] }, history: [] };
    } else if (stage.base.kind === 'stage') {
      const from = this.done.get(stage.base.index)!;
      s = { ...from, history: [...from.history] };
    } else {
      const base = await this.located(stage.line, 'FROM', () => baseImage(this.t.registry, this.t.images, (stage.base as { ref: string }).ref, this.t.ensureImage, this.t.signal));
      const config = { ...(base.config.config ?? {}) };
      // As Docker's builder: an image that sets no PATH gets the default one.
      if (!(config.Env ?? []).some((e) => e.startsWith('PATH='))) config.Env = [DEFAULT_PATH, ...(config.Env ?? [])];
      // The base image's ONBUILD triggers run here, and are not passed on.
      for (const expression of (config['OnBuild'] as string[] | undefined) ?? []) {
        triggers.push(parseTrigger(expression, this.at(stage.line)));
        this.total++;
      }
      delete config['OnBuild'];
      s = { key: sha('image', base.digest), layers: base.layers, config, history: (base.config.history as HistoryEntry[] | undefined) ?? [] };
      this.say(` ---> ${short(base.digest)}\n`);
    }
    const args: Record<string, string> = {};
    let cmdSet = false;
    for (const [i, raw] of [...triggers, ...stage.instructions].entries()) {
      if (i >= triggers.length || triggers.length === 0) this.say(`Step ${++this.step}/${this.total} : ${raw.original}\n`);
      else this.say(`Step ${++this.step}/${this.total} : ${raw.original} (ONBUILD trigger)\n`);
      const vars = { ...args, ...envVars(s.config) };
      const key = sha(s.key, raw.original, JSON.stringify(Object.entries(vars).sort()));
      if (raw.keyword === 'ARG') {
        for (const { name, value } of argValues(raw, { vars, buildArgs: this.plan.buildArgs, globalArgs: this.plan.globalArgs }, this.at(raw.line))) {
          if (value === null) delete args[name];
          else args[name] = value;
        }
        s = { ...s, key };
        continue;
      }
      const ins = expandInstruction(raw, vars, this.at(raw.line));
      if (ins.keyword === 'RUN') s = await this.runInstruction(s, ins, key, args);
      else if (ins.keyword === 'COPY' || ins.keyword === 'ADD') s = await this.copyInstruction(s, ins, key);
      else if (ins.keyword === 'WORKDIR') s = await this.workdir(s, ins.path, raw.original, key);
      else {
        const config = applyConfig(s.config, ins, cmdSet);
        if (ins.keyword === 'CMD') cmdSet = true;
        s = { ...s, key, config: config ?? s.config, history: [...s.history, this.history(raw.original, true)], ...(ins.keyword === 'MAINTAINER' ? { author: ins.author } : {}) };
      }
    }
    return s;
  }

  private fromLine(stage: PlannedStage): string {
    const base = stage.base.kind === 'image' ? stage.base.ref : stage.base.kind === 'scratch' ? 'scratch' : (this.plan.stages.find((x) => x.index === (stage.base as { index: number }).index)?.name ?? String((stage.base as { index: number }).index));
    return `FROM ${stage.platform ? `--platform=${stage.platform} ` : ''}${base}${stage.name ? ` AS ${stage.name}` : ''}`;
  }

  private history(createdBy: string, empty: boolean): HistoryEntry {
    return { created: new Date().toISOString(), created_by: createdBy, ...(empty ? { empty_layer: true as const } : {}), comment: 'tsswarm build' };
  }

  /** Errors of a step as the Dockerfile line's (`Dockerfile:7: COPY failed: ...`). */
  private async located<T>(line: number, what: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      if (e instanceof DockerfileError || this.t.signal.aborted) throw e;
      const message = e instanceof Error ? e.message : String(e);
      throw new DockerfileError(this.plan.file, line, `${what} failed: ${message}`, { cause: e });
    }
  }

  private lowerDirs(s: StageState): string[] {
    return s.layers.length === 0 ? [this.t.root.emptyDir] : s.layers.map((l) => l.dir).reverse();
  }

  /** A cached step whose layer is still here: the state after it. */
  private async fromCache(s: StageState, key: string, createdBy: string): Promise<StageState | null> {
    if (this.req.noCache) return null;
    const hit = await this.t.root.cached(key);
    if (!hit) return null;
    this.cached++;
    this.say(' ---> Using cache\n');
    if (!hit.layer) return { ...s, key, history: [...s.history, this.history(createdBy, true)] };
    const l = hit.layer;
    const layer: BuildLayer = { dir: this.t.root.layerDir(l.chainId), digest: l.digest, diffId: l.diffId, size: l.size, mediaType: l.mediaType, blob: this.t.root.blobPath(l.digest) };
    this.say(` ---> ${short(l.digest)}\n`);
    return { ...s, key, layers: [...s.layers, layer], history: [...s.history, this.history(createdBy, false)] };
  }

  /** A step's upper directory as its layer (none when it changed nothing the image keeps), remembered under its key. */
  private async keep(s: StageState, key: string, upper: string, createdBy: string): Promise<StageState> {
    const scratch = await this.t.root.scratch('layer');
    try {
      const blob = join(scratch, 'blob');
      const built = await layerFromUpper(upper, blob, { exclude: STEP_ONLY_FILES, signal: this.t.signal });
      if (built.empty) {
        await this.t.root.remember(key, { v: 1, layer: null, createdAt: new Date().toISOString() });
        return { ...s, key, history: [...s.history, this.history(createdBy, true)] };
      }
      // The files only the step had are not the layer's, and not its directory's either.
      for (const f of STEP_ONLY_FILES) await rm(join(upper, f), { force: true });
      const chainId = chainIds([...s.layers.map((l) => l.diffId), built.diffId]).at(-1)!;
      await this.t.root.keepLayer(chainId, upper, blob, built.digest);
      await this.t.root.remember(key, { v: 1, layer: { digest: built.digest, diffId: built.diffId, size: built.size, mediaType: built.mediaType, chainId }, createdAt: new Date().toISOString() });
      this.say(` ---> ${short(built.digest)}\n`);
      const layer: BuildLayer = { dir: this.t.root.layerDir(chainId), digest: built.digest, diffId: built.diffId, size: built.size, mediaType: built.mediaType, blob: this.t.root.blobPath(built.digest) };
      return { ...s, key, layers: [...s.layers, layer], history: [...s.history, this.history(createdBy, false)] };
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  private async runInstruction(s: StageState, ins: RunInstruction, key0: string, args: Record<string, string>): Promise<StageState> {
    const argv = ins.command.form === 'shell' ? argvOf({ form: 'shell', script: withHeredocs(ins.command.script, ins.heredocs) }, s.config) : argvOf(ins.command, s.config);
    // Build args are the step's environment (not the image's); ENV wins over an ARG of the same name.
    const env = [...(s.config.Env ?? [])];
    if (!env.some((e) => e.startsWith('PATH='))) env.unshift(DEFAULT_PATH);
    for (const [k, v] of Object.entries(args)) if (!env.some((e) => e.startsWith(`${k}=`))) env.push(`${k}=${v}`);
    const network = ins.network === 'default' ? this.req.network : ins.network;
    const key = sha(key0, JSON.stringify({ argv, env, network, user: s.config.User ?? '', cwd: s.config.WorkingDir ?? '' }));
    const createdBy = `RUN ${ins.command.form === 'exec' ? JSON.stringify(ins.command.args) : ins.command.script}`;
    const hit = await this.fromCache(s, key, createdBy);
    if (hit) return hit;
    this.ran++;
    const result = await this.located(ins.line, 'RUN', () =>
      runStep(this.t.runtime, this.t.root.containersDir, {
        lowerDirs: this.lowerDirs(s),
        args: argv,
        env,
        cwd: s.config.WorkingDir || '/',
        user: s.config.User || null,
        network,
        output: (c) => this.t.out(c.toString('utf8')),
        signal: this.t.signal,
      }),
    );
    try {
      if (result.exitCode !== 0 || result.signal !== null) {
        const how = result.signal !== null ? `was killed by ${result.signal}` : `returned a non-zero code: ${result.exitCode}`;
        throw new DockerfileError(this.plan.file, ins.line, `RUN failed: the command '${argv.join(' ')}' ${how}`);
      }
      return await this.located(ins.line, 'RUN', () => this.keep(s, key, result.upper, createdBy));
    } finally {
      await result.done();
    }
  }

  private async copyInstruction(s: StageState, ins: CopyInstruction | AddInstruction, key0: string): Promise<StageState> {
    const what = ins.keyword;
    return this.located(ins.line, what, async () => {
      const from = ins.keyword === 'COPY' && ins.from !== null ? resolveFrom(this.plan, ins.from) : null;
      const sources: CopySources = { context: this.req.context, fromLayers: null, fromKey: null, fromRoot: null };
      if (from?.kind === 'stage') {
        const st = this.done.get(from.index);
        if (!st) throw new Error(`stage ${from.index} is not built yet`);
        sources.fromLayers = this.lowerDirs(st);
        sources.fromKey = st.key;
      } else if (from?.kind === 'image') {
        const base = await baseImage(this.t.registry, this.t.images, from.ref, this.t.ensureImage, this.t.signal);
        sources.fromLayers = base.layers.map((l) => l.dir).reverse();
        sources.fromKey = sha('image', base.digest);
      }
      const createdBy = `${what} ${ins.original.replace(/^\S+\s+/, '')}`;
      const scratch = await this.t.root.scratch('copy');
      const run = async (fromRoot: string | null): Promise<StageState> => {
        const src = { ...sources, fromRoot };
        const key = sha(key0, await copyKey(ins, src));
        const hit = await this.fromCache(s, key, createdBy);
        if (hit) return hit;
        this.ran++;
        const stepDir = join(scratch, 'step');
        await mkdir(stepDir);
        const dirs = await fsStep(this.t.sys, stepDir, this.lowerDirs(s), (rootfs) => copyStep(rootfs, ins, src, s.config.WorkingDir || '/'));
        return this.keep(s, key, dirs.upper, createdBy);
      };
      try {
        return await (sources.fromLayers ? withLayersMounted(this.t.sys, scratch, sources.fromLayers, run) : run(null));
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
    });
  }

  /** WORKDIR: the config's working directory, made (as a layer) when the image lacks it. */
  private async workdir(s: StageState, path: string, original: string, key: string): Promise<StageState> {
    const dir = joinWorkdir(s.config.WorkingDir, path);
    const next = { ...s, config: { ...s.config, WorkingDir: dir } };
    const hit = await this.fromCache(next, key, original);
    if (hit) return hit;
    const scratch = await this.t.root.scratch('workdir');
    try {
      const dirs = await fsStep(this.t.sys, scratch, this.lowerDirs(s), async (rootfs) => {
        await mkdir(await resolveInRoot(rootfs, dir), { recursive: true, mode: 0o755 });
      });
      return await this.keep(next, key, dirs.upper, original);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }
}

/** A shell-form RUN with heredocs: `RUN <<EOF` runs the body; `RUN cmd <<EOF` gives it the body, as the shell would. */
function withHeredocs(script: string, heredocs: readonly { name: string; content: string }[]): string {
  if (heredocs.length === 0) return script;
  if (heredocs.length === 1 && /^\s*<<-?\s*["']?[A-Za-z_][A-Za-z0-9_]*["']?\s*$/.test(script)) return heredocs[0]!.content;
  return [script, ...heredocs.map((h) => `${h.content}${h.name}`)].join('\n');
}
