/** One image as `tsswarm image ls --format json` shows it (manager registry and agent cache alike). */
export interface ImageSummary {
  /** Normalised reference: `busybox:latest`. */
  ref: string;
  /** Manifest digest. */
  digest: string;
  /** Bytes stored for the config and layers (compressed layers count compressed). */
  size: number;
  layers: number;
  /** The image config's `created` (ISO 8601), null when it has none. */
  created: string | null;
}
