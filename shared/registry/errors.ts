import { TsswarmError } from '../errors';

/**
 * A pull (or push) that did not produce the image. `temporary` says whether
 * trying again later can help (registry unreachable, 5xx) or not (bad digest,
 * unknown layer type), so callers sort retry from reject in one place.
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

/** The registry refused our credentials, or wants some we do not have. Never temporary. */
export class RegistryAuthError extends TsswarmError {
  readonly code = 'REGISTRY_UNAUTHORIZED';
  override readonly status = 403;
}
