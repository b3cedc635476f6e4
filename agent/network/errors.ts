/** Errors of the overlay data plane that are not addon syscall failures (those are NativeError). */
import { TsswarmError } from '../../shared/errors';

/** A spec, endpoint or name this host cannot apply as given: a bug upstream, never retried. */
export class InvalidNetworkConfigError extends TsswarmError {
  readonly code = 'INVALID_NETWORK_CONFIG';
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

/** One failed line of an `ip`/`bridge`/`nft` batch, with the tool's own message. */
export interface FailedCommand {
  command: string;
  message: string;
}

/** A network tool rejected commands (or could not run); `failed` says which and why. */
export class NetworkCommandError extends TsswarmError {
  readonly code = 'NETWORK_COMMAND';
  override readonly status = 500;
  constructor(
    readonly tool: string,
    readonly failed: readonly FailedCommand[],
    options?: { cause?: unknown },
  ) {
    super(`${tool}: ${failed.map((f) => `${f.command}: ${f.message}`).join('; ')}`, options);
  }
}

/** A HostNetwork method called after close(). */
export class HostNetworkClosedError extends TsswarmError {
  readonly code = 'HOST_NETWORK_CLOSED';
  override readonly status = 500;
}
