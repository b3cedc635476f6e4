/** Errors of the node's volumes: each a condition the CLI shows as one line. */
import { NotFoundError, TsswarmError } from '../../shared/errors';

export class VolumeNotFoundError extends NotFoundError {
  override readonly code = 'VOLUME_NOT_FOUND';
  constructor(readonly volume: string) {
    super(`no such volume: ${volume}`);
  }
}

/** `volume rm` of a volume a task on this node still mounts (or is about to). */
export class VolumeInUseError extends TsswarmError {
  readonly code = 'VOLUME_IN_USE';
  override readonly status = 409;
  constructor(
    readonly volume: string,
    readonly tasks: readonly string[],
  ) {
    // Docker's wording, with task ids where Docker names containers.
    super(`remove ${volume}: volume is in use - [${tasks.join(', ')}]`);
  }
}

/** A volume driver this node does not have (only `local` is built in). */
export class VolumeDriverNotFoundError extends TsswarmError {
  readonly code = 'VOLUME_DRIVER_NOT_FOUND';
  constructor(
    readonly driver: string,
    readonly hostname: string,
  ) {
    super(`volume driver ${driver} is not installed on node ${hostname}`);
  }
}

/** A volume name, option or label that cannot be used. */
export class InvalidVolumeError extends TsswarmError {
  readonly code = 'INVALID_VOLUME';
}

/** A volume of that name exists already with another driver. */
export class VolumeConflictError extends TsswarmError {
  readonly code = 'VOLUME_CONFLICT';
  override readonly status = 409;
}

/** The kernel (or a mount helper) refused to mount or unmount a volume's filesystem. */
export class VolumeMountError extends TsswarmError {
  readonly code = 'VOLUME_MOUNT';
  override readonly status = 500;
}
