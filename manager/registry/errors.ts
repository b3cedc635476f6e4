import { TsswarmError } from '../../shared/errors';

/** An archive that cannot become an image (unreadable, corrupt, or not a kind we know). Nothing was stored. */
export class ImageImportError extends TsswarmError {
  readonly code = 'IMAGE_IMPORT';
  constructor(
    message: string,
    readonly file: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
