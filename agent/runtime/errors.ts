/** Errors of the runtime that are not syscall failures of the addon (those are NativeError). */
import { TsswarmError } from '../../shared/errors';

/** A cgroup could not be created, limited, joined or removed. */
export class CgroupError extends TsswarmError {
  readonly code = 'CGROUP';
  override readonly status = 500;
  constructor(
    message: string,
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The container config cannot be run as given. */
export class InvalidContainerConfigError extends TsswarmError {
  readonly code = 'INVALID_CONTAINER_CONFIG';
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

/** A `tsswarm-runtime` command (pause, resume, ...) refused; the message is its one line. */
export class RuntimeCommandError extends TsswarmError {
  readonly code = 'RUNTIME_COMMAND';
  override readonly status = 500;
}
