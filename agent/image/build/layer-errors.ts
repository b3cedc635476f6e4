/**
 * Why a build step's upper directory could not become a layer. Both are the
 * build's to report to the user as one line; neither is worth retrying.
 */
import { TsswarmError } from '../../../shared/errors';

/**
 * The upper directory relies on the lower layers to mean what it holds
 * (overlayfs redirect_dir or metacopy), so no layer made from it alone is right.
 */
export class UpperNotSupportedError extends TsswarmError {
  readonly code = 'UPPER_NOT_SUPPORTED';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/** One entry of the upper directory cannot be written as a tar entry that unpacks back to it. */
export class LayerEntryError extends TsswarmError {
  readonly code = 'LAYER_ENTRY_UNSUPPORTED';
  constructor(
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** getfattr is missing, failed, or printed something this reader does not understand. */
export class XattrReadError extends TsswarmError {
  readonly code = 'XATTR_READ';
}
