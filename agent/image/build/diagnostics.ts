/**
 * How the Dockerfile front end speaks to the user: one error class that always carries the file and
 * the line (`Dockerfile:7: unknown instruction: COPPY`), and warnings in the same one-line form, so
 * the CLI prints both as they are and an editor can jump to the line.
 */
import { InvalidArgumentError } from '../../../shared/errors';

/** A Dockerfile (or .dockerignore) that cannot be built from; `message` is `<file>:<line>: <reason>`. */
export class DockerfileError extends InvalidArgumentError {
  constructor(
    readonly file: string,
    readonly line: number | null,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(line === null ? `${file}: ${reason}` : `${file}:${line}: ${reason}`, options);
  }
}

/** Something Docker would build but tsswarm wants the user to know about; `line` null when it is about no line. */
export interface BuildWarning {
  readonly file: string;
  readonly line: number | null;
  readonly message: string;
}

/** `Dockerfile:1: the syntax directive is ignored (...)`, or the message alone when it has no line. */
export function formatWarning(w: BuildWarning): string {
  return w.line === null ? w.message : `${w.file}:${w.line}: ${w.message}`;
}

/**
 * Thrown by the instruction readers, which do not know the file or line; parseDockerfile() turns it
 * into a DockerfileError at the instruction's first line. Any other error escaping a reader is a bug.
 */
export class Problem extends Error {}
