/**
 * The parsed Dockerfile, as the build executor reads it: one object per instruction, told apart by
 * `keyword`, each with the line it starts on and its arguments already split the way Docker splits
 * them. Nothing here is expanded yet: `$VAR` and quotes stay as written in the fields Docker expands
 * at build time, because their values depend on the ARGs and ENVs in force at that instruction;
 * `expandInstruction()` (expand-instruction.ts) gives the values when the executor gets there.
 *
 * No third-party type leaks out of here: the parser is our own (see README.md for why).
 */
import type { HealthCheck } from '../../../shared/types';
import type { BuildWarning } from './diagnostics';

/** The escape character (`# escape=` directive): `\` by default, `` ` `` for Windows-style paths. */
export type EscapeChar = '\\' | '`';

/** What every instruction has. */
interface InstructionBase {
  /** 1-based line of the instruction's first line (a continued instruction reports where it starts). */
  readonly line: number;
  /** 1-based last line, heredoc bodies included. */
  readonly endLine: number;
  /**
   * The instruction as Docker keeps it for history: the continued lines joined (escape-newline
   * removed, comment lines inside dropped), leading space trimmed, heredoc bodies not included.
   * The executor turns it into `created_by` (`/bin/sh -c #(nop)  CMD ["x"]`).
   */
  readonly original: string;
}

/** RUN, CMD, ENTRYPOINT and HEALTHCHECK CMD: a JSON array is run as it is, anything else by the SHELL. */
export type CommandLine =
  | { readonly form: 'exec'; readonly args: readonly string[] }
  /** Not expanded by the builder: the shell does it when the command runs. */
  | { readonly form: 'shell'; readonly script: string };

/** `<<EOF ... EOF` after RUN, COPY or ADD. */
export interface Heredoc {
  /** The delimiter, quotes removed; for COPY/ADD it is also the name of the file it becomes. */
  readonly name: string;
  /** The body, each line ending in `\n`; for `<<-` the leading tabs are already stripped. */
  readonly content: string;
  /** False when the delimiter was quoted (`<<'EOF'`, `<<"EOF"`): no variable expansion in the body. */
  readonly expand: boolean;
  /** `<<-`: leading tabs were stripped from the body and from the closing delimiter. */
  readonly chomp: boolean;
  /** The file descriptor in `3<<EOF`, null when none was written (stdin). */
  readonly fd: number | null;
}

export interface KeyValue {
  readonly key: string;
  readonly value: string;
}

export interface FromInstruction extends InstructionBase {
  readonly keyword: 'FROM';
  /** As written, e.g. `${BASE}:1.2`: stages.ts expands it with the global ARGs. */
  readonly image: string;
  /** `AS name`, lower-cased as Docker does (stage names are case-insensitive), or null. */
  readonly stageName: string | null;
  /** `--platform=`, as written (expanded with the global ARGs by stages.ts), or null. */
  readonly platform: string | null;
}

export interface ArgInstruction extends InstructionBase {
  readonly keyword: 'ARG';
  /** `ARG a b=2`: a declared without a default (null), b with `2` (unexpanded). */
  readonly args: readonly { readonly name: string; readonly defaultValue: string | null }[];
}

export interface RunInstruction extends InstructionBase {
  readonly keyword: 'RUN';
  /** A shell-form script may name heredocs (`RUN <<EOF`, `RUN python3 <<EOF`); they follow in `heredocs`. */
  readonly command: CommandLine;
  readonly heredocs: readonly Heredoc[];
  /** `--network=`; `default` when not given. */
  readonly network: 'default' | 'none' | 'host';
}

export interface CmdInstruction extends InstructionBase {
  readonly keyword: 'CMD';
  readonly command: CommandLine;
}

export interface EntrypointInstruction extends InstructionBase {
  readonly keyword: 'ENTRYPOINT';
  readonly command: CommandLine;
}

export interface ShellInstruction extends InstructionBase {
  readonly keyword: 'SHELL';
  /** Always JSON form, never empty: `["/bin/bash", "-c"]`. */
  readonly shell: readonly string[];
}

export interface EnvInstruction extends InstructionBase {
  readonly keyword: 'ENV';
  /** `ENV k=v k2="v 2"` or the old `ENV k v w` (one pair, value `v w`); keys and values unexpanded. */
  readonly pairs: readonly KeyValue[];
}

export interface LabelInstruction extends InstructionBase {
  readonly keyword: 'LABEL';
  readonly pairs: readonly KeyValue[];
}

/** Deprecated; sets the image's `author` field. Not expanded. */
export interface MaintainerInstruction extends InstructionBase {
  readonly keyword: 'MAINTAINER';
  readonly author: string;
}

export interface ExposeInstruction extends InstructionBase {
  readonly keyword: 'EXPOSE';
  /** `80`, `443/udp`, `8000-8010`, unexpanded (expansion may split a word into more ports). */
  readonly ports: readonly string[];
}

export interface VolumeInstruction extends InstructionBase {
  readonly keyword: 'VOLUME';
  /** `VOLUME ["/a"]` or `VOLUME /a /b`, unexpanded. */
  readonly paths: readonly string[];
}

export interface WorkdirInstruction extends InstructionBase {
  readonly keyword: 'WORKDIR';
  readonly path: string;
}

export interface UserInstruction extends InstructionBase {
  readonly keyword: 'USER';
  /** `user`, `uid`, `user:group`, unexpanded. */
  readonly user: string;
}

export interface StopSignalInstruction extends InstructionBase {
  readonly keyword: 'STOPSIGNAL';
  readonly signal: string;
}

export interface HealthcheckInstruction extends InstructionBase {
  readonly keyword: 'HEALTHCHECK';
  /**
   * In the service model's shape: `["NONE"]`, `["CMD", ...args]` (JSON form) or
   * `["CMD-SHELL", script]`; durations in ms and retries null where not given (Docker's defaults).
   */
  readonly health: HealthCheck;
}

export interface OnbuildInstruction extends InstructionBase {
  readonly keyword: 'ONBUILD';
  /** The trigger's text as stored in the image config (`OnBuild`), heredoc bodies appended. */
  readonly expression: string;
  /** The trigger parsed, so a bad trigger fails this build and not the one that uses the image. */
  readonly trigger: StageInstruction;
}

/** COPY and ADD: the last argument is the destination. */
interface FileCopyBase extends InstructionBase {
  /** Source paths (JSON or whitespace form), unexpanded; heredoc sources are in `inline`. */
  readonly sources: readonly string[];
  /** `COPY <<EOF /path`: files whose content is here, named by their delimiter. */
  readonly inline: readonly Heredoc[];
  readonly dest: string;
  /** `--chown=`, unexpanded, or null. */
  readonly chown: string | null;
  /** `--chmod=`, unexpanded, or null. */
  readonly chmod: string | null;
  /** `--link`: accepted; the executor may ignore it (it changes caching, not the result). */
  readonly link: boolean;
}

export interface CopyInstruction extends FileCopyBase {
  readonly keyword: 'COPY';
  /**
   * `--from=`: a stage name or index if it names one of this Dockerfile's stages
   * (`resolveFrom()` in stages.ts tells), else an image reference. Never contains variables.
   */
  readonly from: string | null;
}

export interface AddInstruction extends FileCopyBase {
  readonly keyword: 'ADD';
}

/** Any instruction; the kinds a stage can hold after its FROM are `StageInstruction`. */
export type Instruction =
  | FromInstruction
  | ArgInstruction
  | RunInstruction
  | CmdInstruction
  | EntrypointInstruction
  | ShellInstruction
  | EnvInstruction
  | LabelInstruction
  | MaintainerInstruction
  | ExposeInstruction
  | VolumeInstruction
  | WorkdirInstruction
  | UserInstruction
  | StopSignalInstruction
  | HealthcheckInstruction
  | OnbuildInstruction
  | CopyInstruction
  | AddInstruction;

export type StageInstruction = Exclude<Instruction, FromInstruction>;

export type Keyword = Instruction['keyword'];

/** A FROM and what follows it up to the next FROM. */
export interface ParsedStage {
  /** 0-based, as `COPY --from=0` counts. */
  readonly index: number;
  /** `AS name` lower-cased, or null. */
  readonly name: string | null;
  readonly from: FromInstruction;
  readonly instructions: readonly StageInstruction[];
}

export interface ParsedDockerfile {
  /** The name errors and warnings use (`Dockerfile`, `app.Dockerfile`, ...). */
  readonly file: string;
  readonly escape: EscapeChar;
  /** The ARGs before the first FROM: visible in FROM lines, and in a stage only where redeclared. */
  readonly globalArgs: readonly ArgInstruction[];
  /** At least one. */
  readonly stages: readonly ParsedStage[];
  readonly warnings: readonly BuildWarning[];
}
