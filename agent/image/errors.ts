import { TsswarmError } from '../../shared/errors';

/**
 * A pull that did not produce the image. `temporary` says whether trying again
 * later can help (registry unreachable, 5xx) or not (bad digest, unknown layer
 * type), so the executor can sort retry from reject in one place.
 */
export class ImagePullError extends TsswarmError {
  readonly code = 'IMAGE_PULL';
  override readonly status = 502;
  readonly temporary: boolean;
  constructor(message: string, options: { temporary: boolean; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.temporary = options.temporary;
  }
}
