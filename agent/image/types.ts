import type { HealthCheck } from '../../shared/types';
/** The image seam: what the executor needs to turn an image reference into layers. */
export interface ImageConfig {
  entrypoint: string[] | null;
  cmd: string[] | null;
  env: string[];
  workingDir: string | null;
  user: string | null;
  /**
   * The image's `VOLUME` paths (config `Volumes`), each an anonymous volume of every container not
   * mounting something there. Absent in images.json records written before it: read as none.
   */
  volumes?: string[];
  /** The image's HEALTHCHECK (config `Healthcheck`); absent in records written before it: none. */
  healthcheck?: HealthCheck | null;
}

export interface PreparedImage {
  ref: string;
  /** Manifest digest. */
  digest: string;
  /** Unpacked layer directories, top layer first (overlayfs lowerdir order). */
  layers: string[];
  config: ImageConfig;
}

export interface ImageSource {
  /** Makes the image's layers available locally (pulling what is missing) and returns them. */
  prepare(ref: string, signal?: AbortSignal): Promise<PreparedImage>;
}
