/**
 * Parsed stages → what to build, in what order. Resolves the global ARGs (build args first, then
 * defaults) into the FROM lines, tells stage references from image references (only this file's
 * stage names and indexes are stages: `COPY --from=nginx` is the image), keeps the stages the
 * target needs, orders them so each comes after the stages it uses (Dockerfile order where free),
 * and refuses cycles at the instruction that closes one. Pure: the executor does the building.
 */
import { InvalidArgumentError } from '../../../shared/errors';
import { type BuildWarning, DockerfileError } from './diagnostics';
import type { EscapeChar, ParsedDockerfile, ParsedStage, StageInstruction } from './dockerfile-types';
import { ShellWordError, expandWord } from './shell-words';

export interface PlanOptions {
  /** `--target`: a stage name (any case); the last stage when absent. */
  readonly target?: string;
  /** `--build-arg` values. */
  readonly buildArgs: Readonly<Record<string, string>>;
  /**
   * Docker's automatic platform ARGs (TARGETPLATFORM, TARGETOS, TARGETARCH, BUILDPLATFORM, ...):
   * usable in FROM lines, in a stage only once declared there with `ARG NAME`, as in Docker.
   */
  readonly automaticArgs?: Readonly<Record<string, string>>;
}

export type StageBase =
  | { readonly kind: 'image'; readonly ref: string }
  | { readonly kind: 'stage'; readonly index: number }
  | { readonly kind: 'scratch' };

export interface PlannedStage {
  readonly index: number;
  readonly name: string | null;
  /** The FROM line. */
  readonly line: number;
  /** The FROM image, expanded with the global ARGs; `FROM <earlier stage>` continues that stage. */
  readonly base: StageBase;
  /** `FROM --platform=`, expanded, or null. */
  readonly platform: string | null;
  /**
   * The ONBUILD triggers of a base that is a stage of this file, to run right after FROM. (Triggers
   * of a base image come with its config: the executor reads them with parseTrigger().)
   */
  readonly triggers: readonly StageInstruction[];
  /** Unexpanded; the stage starts with no ARG in scope (globals only through redeclaration). */
  readonly instructions: readonly StageInstruction[];
  /** Stage indexes this one needs built first. */
  readonly dependsOn: readonly number[];
}

export interface BuildPlan {
  readonly file: string;
  readonly escape: EscapeChar;
  /** Index of the stage the image is made from. */
  readonly target: number;
  /** The stages the target needs, each after those it depends on; the target last. */
  readonly stages: readonly PlannedStage[];
  /** The global ARGs' values (and the automatic ones): what `ARG X` without default inherits in a stage. */
  readonly globalArgs: Readonly<Record<string, string>>;
  readonly buildArgs: Readonly<Record<string, string>>;
  /** Lower-cased stage name → index, and the number of stages: what resolveFrom() reads. */
  readonly stageNames: ReadonlyMap<string, number>;
  readonly stageCount: number;
  readonly warnings: readonly BuildWarning[];
}

export type CopySource = { readonly kind: 'stage'; readonly index: number } | { readonly kind: 'image'; readonly ref: string };

/** Build args Docker takes without an ARG for them (proxies, the reproducible-build epoch). */
const IMPLICIT_BUILD_ARGS = new Set([
  'HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy',
  'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy', 'SOURCE_DATE_EPOCH',
]);

/**
 * What `COPY --from=X` copies from: a stage when X is one of the file's stage names (any case) or a
 * stage index, else the image X. An index past the last stage is a stage that does not exist
 * (planStages refuses it).
 */
export function resolveFrom(plan: Pick<BuildPlan, 'stageNames'>, from: string): CopySource {
  if (/^[+-]?\d+$/.test(from)) return { kind: 'stage', index: Number(from) };
  const index = plan.stageNames.get(from.toLowerCase());
  return index === undefined ? { kind: 'image', ref: from } : { kind: 'stage', index };
}

interface Edge {
  readonly to: number;
  readonly line: number;
  /** How the instruction reads in a message: `COPY --from=app`, `FROM build`. */
  readonly what: string;
}

function expandAt(file: string, line: number, word: string, vars: Record<string, string>, escape: EscapeChar): string {
  try {
    return expandWord(word, vars, escape);
  } catch (e) {
    if (e instanceof ShellWordError) throw new DockerfileError(file, line, e.message, { cause: e });
    throw e;
  }
}

function resolveGlobalArgs(parsed: ParsedDockerfile, options: PlanOptions): Record<string, string> {
  const globals: Record<string, string> = { ...options.automaticArgs };
  for (const ins of parsed.globalArgs) {
    for (const { name, defaultValue } of ins.args) {
      if (Object.hasOwn(options.buildArgs, name)) globals[name] = options.buildArgs[name] as string;
      else if (defaultValue !== null) globals[name] = expandAt(parsed.file, ins.line, defaultValue, globals, parsed.escape);
    }
  }
  return globals;
}

/** The ONBUILD triggers a stage leaves for the stages built FROM it. */
function triggersOf(stage: ParsedStage): StageInstruction[] {
  return stage.instructions.flatMap((i) => (i.keyword === 'ONBUILD' ? [i.trigger] : []));
}

export function planStages(parsed: ParsedDockerfile, options: PlanOptions): BuildPlan {
  const { file, escape } = parsed;
  const globals = resolveGlobalArgs(parsed, options);
  const stageNames = new Map<string, number>();
  for (const s of parsed.stages) if (s.name !== null) stageNames.set(s.name, s.index);

  const bases: StageBase[] = [];
  const platforms: Array<string | null> = [];
  for (const s of parsed.stages) {
    const ref = expandAt(file, s.from.line, s.from.image, globals, escape);
    if (ref === '') throw new DockerfileError(file, s.from.line, `base name (${s.from.image}) should not be blank`);
    const earlier = stageNames.get(ref.toLowerCase());
    if (earlier !== undefined && earlier < s.index) bases.push({ kind: 'stage', index: earlier });
    else bases.push(ref === 'scratch' ? { kind: 'scratch' } : { kind: 'image', ref });
    const platform = s.from.platform === null ? null : expandAt(file, s.from.line, s.from.platform, globals, escape);
    if (platform === '') throw new DockerfileError(file, s.from.line, `empty platform value from expression ${s.from.platform}`);
    platforms.push(platform);
  }

  const triggers = parsed.stages.map((s) => {
    const base = bases[s.index] as StageBase;
    return base.kind === 'stage' ? triggersOf(parsed.stages[base.index] as ParsedStage) : [];
  });
  const edges: Edge[][] = parsed.stages.map((s) => {
    const out: Edge[] = [];
    const base = bases[s.index] as StageBase;
    if (base.kind === 'stage') out.push({ to: base.index, line: s.from.line, what: `FROM ${s.from.image}` });
    const copies = [...(triggers[s.index] ?? []).map((t) => ({ ins: t, line: s.from.line })), ...s.instructions.map((i) => ({ ins: i, line: i.line }))];
    for (const { ins, line } of copies) {
      if (ins.keyword !== 'COPY' || ins.from === null) continue;
      const src = resolveFrom({ stageNames }, ins.from);
      if (src.kind !== 'stage') continue;
      if (src.index < 0 || src.index >= parsed.stages.length) throw new DockerfileError(file, line, `COPY --from=${ins.from}: invalid stage index ${src.index}`);
      out.push({ to: src.index, line, what: `COPY --from=${ins.from}` });
    }
    return out;
  });
  refuseCycles(file, edges);

  let target = parsed.stages.length - 1;
  if (options.target !== undefined) {
    const named = stageNames.get(options.target.toLowerCase());
    if (named === undefined) {
      const known = [...stageNames.keys()];
      throw new InvalidArgumentError(`target stage "${options.target}" could not be found${known.length > 0 ? ` (stages: ${known.join(', ')})` : ' (no stage is named)'}`);
    }
    target = named;
  }

  const order = buildOrder(target, edges);
  const stages: PlannedStage[] = order.map((index) => {
    const s = parsed.stages[index] as ParsedStage;
    return {
      index,
      name: s.name,
      line: s.from.line,
      base: bases[index] as StageBase,
      platform: platforms[index] ?? null,
      triggers: triggers[index] ?? [],
      instructions: s.instructions,
      dependsOn: [...new Set((edges[index] ?? []).map((e) => e.to))],
    };
  });

  return {
    file,
    escape,
    target,
    stages,
    globalArgs: globals,
    buildArgs: options.buildArgs,
    stageNames,
    stageCount: parsed.stages.length,
    warnings: [...parsed.warnings, ...unusedBuildArgs(parsed, stages, options.buildArgs)],
  };
}

/** A depth-first walk; an edge back to a stage still being walked closes a cycle and is the error. */
function refuseCycles(file: string, edges: readonly Edge[][]): void {
  const state = edges.map(() => 'new' as 'new' | 'walking' | 'done');
  const walk = (i: number): void => {
    state[i] = 'walking';
    for (const e of edges[i] ?? []) {
      if (state[e.to] === 'walking') {
        throw new DockerfileError(file, e.line, e.to === i ? `${e.what} refers to its own stage` : `${e.what} refers to a stage that depends on this one`);
      }
      if (state[e.to] === 'new') walk(e.to);
    }
    state[i] = 'done';
  };
  edges.forEach((_, i) => state[i] === 'new' && walk(i));
}

/** The stages `target` needs, dependencies first, lowest index first among those that are ready. */
function buildOrder(target: number, edges: readonly Edge[][]): number[] {
  const needed = new Set<number>();
  const visit = (i: number) => {
    if (needed.has(i)) return;
    needed.add(i);
    for (const e of edges[i] ?? []) visit(e.to);
  };
  visit(target);
  const order: number[] = [];
  const placed = new Set<number>();
  while (order.length < needed.size) {
    const ready = [...needed]
      .filter((i) => !placed.has(i) && (edges[i] ?? []).every((e) => placed.has(e.to)))
      .sort((a, b) => a - b);
    // Every other needed stage is one the target depends on, so the target is ready last.
    const next = ready[0];
    if (next === undefined) break; // unreachable: cycles were refused
    order.push(next);
    placed.add(next);
  }
  return order;
}

function unusedBuildArgs(parsed: ParsedDockerfile, stages: readonly PlannedStage[], buildArgs: Readonly<Record<string, string>>): BuildWarning[] {
  const declared = new Set<string>();
  const declare = (ins: StageInstruction) => ins.keyword === 'ARG' && ins.args.forEach((a) => declared.add(a.name));
  parsed.globalArgs.forEach(declare);
  for (const s of stages) [...s.triggers, ...s.instructions].forEach(declare);
  const unused = Object.keys(buildArgs)
    .filter((k) => !declared.has(k) && !IMPLICIT_BUILD_ARGS.has(k))
    .sort();
  return unused.length === 0 ? [] : [{ file: parsed.file, line: null, message: `One or more build-args [${unused.join(' ')}] were not consumed` }];
}
