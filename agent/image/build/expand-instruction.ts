/**
 * What the executor calls at each instruction, with the variables in scope there (the stage's ARGs
 * declared so far and its ENV, see shell-words.ts): `expandInstruction()` gives the instruction with
 * the fields Docker expands replaced by their values, and `argValues()` says what an ARG sets, with
 * Docker's precedence: a build arg, else the default, else the value of the global ARG of that name.
 * Every pair in one ENV/LABEL sees the variables from before the instruction, as in Docker.
 */
import { DockerfileError } from './diagnostics';
import type { ArgInstruction, EscapeChar, Heredoc, StageInstruction } from './dockerfile-types';
import { type BuildVars, ShellWordError, expandHeredocBody, expandWord, expandWords } from './shell-words';

/** Where the instruction came from, for the escape character and for errors. */
export interface ExpandContext {
  readonly file: string;
  readonly escape: EscapeChar;
}

function located<T>(at: ExpandContext, line: number, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ShellWordError) throw new DockerfileError(at.file, line, e.message, { cause: e });
    throw e;
  }
}

function expandAny(ins: StageInstruction, vars: BuildVars, escape: EscapeChar): StageInstruction {
  const word = (w: string) => expandWord(w, vars, escape);
  const opt = (w: string | null) => (w === null ? null : word(w));
  const body = (h: Heredoc): Heredoc => (h.expand ? { ...h, content: expandHeredocBody(h.content, vars) } : h);
  switch (ins.keyword) {
    case 'ENV':
    case 'LABEL':
      return { ...ins, pairs: ins.pairs.map((p) => ({ key: word(p.key), value: word(p.value) })) };
    case 'EXPOSE':
      return { ...ins, ports: ins.ports.flatMap((p) => expandWords(p, vars, escape)) };
    case 'VOLUME':
      return { ...ins, paths: ins.paths.map(word) };
    case 'WORKDIR':
      return { ...ins, path: word(ins.path) };
    case 'USER':
      return { ...ins, user: word(ins.user) };
    case 'STOPSIGNAL':
      return { ...ins, signal: word(ins.signal) };
    case 'COPY':
    case 'ADD':
      return {
        ...ins,
        sources: ins.sources.map(word),
        inline: ins.inline.map(body),
        dest: word(ins.dest),
        chown: opt(ins.chown),
        chmod: opt(ins.chmod),
      };
    default:
      // RUN, CMD, ENTRYPOINT, SHELL and HEALTHCHECK are the shell's to expand; MAINTAINER and
      // ONBUILD are kept as written; ARG is argValues()'s.
      return ins;
  }
}

/** The instruction with its expandable fields expanded; the same object when it has none. */
export function expandInstruction<T extends StageInstruction>(ins: T, vars: BuildVars, at: ExpandContext): T {
  return located(at, ins.line, () => expandAny(ins, vars, at.escape) as T);
}

export interface ArgScope {
  /** The variables in scope before this ARG (defaults may use them). */
  readonly vars: BuildVars;
  /** `--build-arg` values. */
  readonly buildArgs: Readonly<Record<string, string>>;
  /** The global ARGs' values (BuildPlan.globalArgs): what an `ARG X` without default inherits. */
  readonly globalArgs: Readonly<Record<string, string>>;
}

/**
 * What each name of an ARG is set to, in order; null for a name declared with no value to take (it
 * is then in scope but unset). Later names see earlier ones (`ARG A=1 B=$A`).
 */
export function argValues(ins: ArgInstruction, scope: ArgScope, at: ExpandContext): Array<{ name: string; value: string | null }> {
  return located(at, ins.line, () => {
    const vars: Record<string, string> = { ...scope.vars };
    return ins.args.map(({ name, defaultValue }) => {
      let value: string | null = null;
      if (Object.hasOwn(scope.buildArgs, name)) value = scope.buildArgs[name] as string;
      else if (defaultValue !== null) value = expandWord(defaultValue, vars, at.escape);
      else if (Object.hasOwn(scope.globalArgs, name)) value = scope.globalArgs[name] as string;
      if (value !== null) vars[name] = value;
      return { name, value };
    });
  });
}
