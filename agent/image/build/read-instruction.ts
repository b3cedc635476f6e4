/**
 * One logical line → one instruction: split off the keyword and flags, then hand the rest to the
 * reader for that keyword. ONBUILD is read here because its trigger is itself an instruction.
 */
import { Problem } from './diagnostics';
import type { EscapeChar, Heredoc, Instruction, OnbuildInstruction, StageInstruction } from './dockerfile-types';
import { readFlags } from './dockerfile-flags';
import { splitInstruction } from './dockerfile-words';
import { readCmd, readEntrypoint, readHealthcheck, readRun, readShell } from './read-commands';
import { readAdd, readCopy } from './read-files';
import {
  readArg,
  readEnv,
  readExpose,
  readFrom,
  readLabel,
  readMaintainer,
  readStopSignal,
  readUser,
  readVolume,
  readWorkdir,
} from './read-metadata';

/** What a keyword's reader gets. */
export interface ReaderInput {
  /** The `--flag[=value]` words before the arguments. */
  readonly flags: readonly string[];
  /** The arguments after the flags, trimmed. */
  readonly rest: string;
  readonly heredocs: readonly Heredoc[];
  readonly escape: EscapeChar;
  /** The fields every instruction carries. */
  readonly base: { readonly line: number; readonly endLine: number; readonly original: string };
  readonly warn: (message: string) => void;
}

const READERS: Readonly<Record<string, (input: ReaderInput) => Instruction>> = {
  ADD: readAdd,
  ARG: readArg,
  CMD: readCmd,
  COPY: readCopy,
  ENTRYPOINT: readEntrypoint,
  ENV: readEnv,
  EXPOSE: readExpose,
  FROM: readFrom,
  HEALTHCHECK: readHealthcheck,
  LABEL: readLabel,
  MAINTAINER: readMaintainer,
  ONBUILD: readOnbuild,
  RUN: readRun,
  SHELL: readShell,
  STOPSIGNAL: readStopSignal,
  USER: readUser,
  VOLUME: readVolume,
  WORKDIR: readWorkdir,
};

export interface InstructionText {
  readonly line: number;
  readonly endLine: number;
  /** The logical line: continuations joined, without heredoc bodies. */
  readonly text: string;
  readonly heredocs: readonly Heredoc[];
}

/** Throws `Problem` for a Dockerfile mistake; the caller knows the file and adds it. */
export function readInstruction(src: InstructionText, escape: EscapeChar, warn: (message: string) => void): Instruction {
  const { keyword, flags, rest } = splitInstruction(src.text, escape);
  const reader = Object.hasOwn(READERS, keyword.toUpperCase()) ? READERS[keyword.toUpperCase()] : undefined;
  if (reader === undefined) throw new Problem(`unknown instruction: ${keyword}`);
  return reader({ flags, rest, heredocs: src.heredocs, escape, base: { line: src.line, endLine: src.endLine, original: src.text }, warn });
}

function readOnbuild(input: ReaderInput): OnbuildInstruction {
  readFlags('ONBUILD', input.flags, { accepted: {} });
  if (input.rest === '') throw new Problem('ONBUILD requires at least one argument');
  const inner = splitInstruction(input.rest, input.escape).keyword.toUpperCase();
  if (inner === 'ONBUILD') throw new Problem("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  if (inner === 'FROM' || inner === 'MAINTAINER') throw new Problem(`${inner} isn't allowed as an ONBUILD trigger`);
  const text = { ...input.base, text: input.rest, heredocs: input.heredocs };
  const trigger = readInstruction(text, input.escape, input.warn) as StageInstruction;
  // The image config keeps the trigger as text; a heredoc travels with it, body and delimiter.
  const expression = input.heredocs.reduce((acc, h) => `${acc}\n${h.content}${h.name}`, input.rest);
  return { ...input.base, keyword: 'ONBUILD', expression, trigger };
}
