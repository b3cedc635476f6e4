/**
 * The Dockerfile front end's entry point: text → checked instructions grouped into stages. Pure (no
 * I/O); every mistake is a DockerfileError naming the file and the line the instruction starts on,
 * and what Docker would accept but tsswarm treats differently comes back as a warning.
 */
import { type BuildWarning, DockerfileError, Problem } from './diagnostics';
import type { ArgInstruction, EscapeChar, ParsedDockerfile, ParsedStage, StageInstruction } from './dockerfile-types';
import { readLogicalLines } from './dockerfile-lines';
import { readInstruction } from './read-instruction';
import { ShellWordError } from './shell-words';

const IGNORED_DIRECTIVES: Readonly<Record<string, string>> = {
  syntax: 'the syntax directive is ignored (tsswarm builds with its own front end)',
  check: 'the check directive is ignored (tsswarm runs no build checks)',
};

function located<T>(file: string, line: number, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof Problem || e instanceof ShellWordError) throw new DockerfileError(file, line, e.message, { cause: e });
    throw e;
  }
}

export function parseDockerfile(text: string, file = 'Dockerfile'): ParsedDockerfile {
  const reading = readLogicalLines(text, file);
  const warnings: BuildWarning[] = [];
  for (const d of reading.directives) {
    const message = IGNORED_DIRECTIVES[d.name];
    if (message !== undefined) warnings.push({ file, line: d.line, message });
  }

  const globalArgs: ArgInstruction[] = [];
  const stages: Array<{ from: ParsedStage['from']; instructions: StageInstruction[] }> = [];
  for (const src of reading.lines) {
    const warn = (message: string) => warnings.push({ file, line: src.line, message });
    if (src.emptyContinuation) warn('empty continuation line (Docker warns that these will become errors)');
    const ins = located(file, src.line, () => readInstruction(src, reading.escape, warn));
    const current = stages[stages.length - 1];
    if (ins.keyword === 'FROM') {
      const twin = stages.find((s) => s.from.stageName !== null && s.from.stageName === ins.stageName);
      if (twin !== undefined) throw new DockerfileError(file, src.line, `duplicate stage name "${ins.stageName}" (first at line ${twin.from.line})`);
      stages.push({ from: ins, instructions: [] });
    }
    else if (current !== undefined) current.instructions.push(ins);
    else if (ins.keyword === 'ARG') globalArgs.push(ins);
    else throw new DockerfileError(file, src.line, `${ins.keyword} before the first FROM (only ARG may come before it)`);
  }
  if (stages.length === 0) throw new DockerfileError(file, 1, 'no FROM instruction');

  return {
    file,
    escape: reading.escape,
    globalArgs,
    stages: stages.map((s, index) => ({ index, name: s.from.stageName, from: s.from, instructions: s.instructions })),
    warnings,
  };
}

/**
 * An ONBUILD trigger read back from a base image's config (`OnBuild`), to run after the FROM that
 * uses the image; errors name the FROM's file and line.
 */
export function parseTrigger(expression: string, at: { file: string; line: number; escape: EscapeChar }): StageInstruction {
  return located(at.file, at.line, () => {
    // Directives are not read here: a trigger starting with `#` is a comment, as it would be in a Dockerfile.
    const lines = readLogicalLines(`\n${expression}`, at.file).lines;
    const only = lines[0];
    if (only === undefined || lines.length !== 1) throw new Problem(`ONBUILD trigger should be a single instruction: ${expression}`);
    const ins = readInstruction({ ...only, line: at.line, endLine: at.line }, at.escape, () => undefined);
    if (ins.keyword === 'FROM' || ins.keyword === 'ONBUILD' || ins.keyword === 'MAINTAINER') {
      throw new Problem(`${ins.keyword} isn't allowed as an ONBUILD trigger`);
    }
    return ins;
  });
}
