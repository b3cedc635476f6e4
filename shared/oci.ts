/**
 * The OCI image format as both the manager's registry and the agent's image
 * cache see it: media types, the JSON documents, and checked parsers for them.
 * Parsers throw InvalidArgumentError with the reason; callers wrap it in their
 * own error (import or pull) so the user sees where the bad document came from.
 */
import { createHash } from 'node:crypto';
import { InvalidArgumentError } from './errors';

export const MediaType = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  // Docker names its uncompressed layers like this too (rarely seen in the wild).
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
} as const;

export const MANIFEST_TYPES: readonly string[] = [MediaType.ociManifest, MediaType.dockerManifest];
export const INDEX_TYPES: readonly string[] = [MediaType.ociIndex, MediaType.dockerManifestList];
const GZIP_LAYER_TYPES: readonly string[] = [MediaType.ociLayerGzip, MediaType.dockerLayerGzip];
const PLAIN_LAYER_TYPES: readonly string[] = [MediaType.ociLayer, MediaType.dockerLayer];
const ZSTD_LAYER_TYPES: readonly string[] = [MediaType.ociLayerZstd];

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType: string;
  manifests: Descriptor[];
}

/** The runtime part of an image config (`config` in the JSON), Docker's capitalised names. */
export interface ContainerConfigJson {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Env?: string[] | null;
  WorkingDir?: string;
  User?: string;
  [other: string]: unknown;
}

export interface ImageConfigJson {
  architecture: string;
  os: string;
  created?: string;
  config?: ContainerConfigJson | null;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: unknown[];
  [other: string]: unknown;
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

export function isDigest(s: unknown): s is string {
  return typeof s === 'string' && DIGEST.test(s);
}

export function sha256Digest(data: string | Uint8Array): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

/** The hex part of `sha256:<hex>`, for file names. */
export function digestHex(digest: string): string {
  if (!isDigest(digest)) throw new InvalidArgumentError(`"${digest}" is not a sha256 digest`);
  return digest.slice('sha256:'.length);
}

export type LayerCompression = 'none' | 'gzip' | 'zstd';

/** Compression of a layer by its media type; throws for kinds we cannot unpack (foreign layers, encrypted ones). */
export function layerCompression(mediaType: string): LayerCompression {
  if (GZIP_LAYER_TYPES.includes(mediaType)) return 'gzip';
  if (ZSTD_LAYER_TYPES.includes(mediaType)) return 'zstd';
  if (PLAIN_LAYER_TYPES.includes(mediaType)) return 'none';
  throw new InvalidArgumentError(`unsupported layer media type ${mediaType}`);
}

/**
 * Chain ids per the OCI image spec: chainID(L0) = diffID(L0),
 * chainID(Ln) = sha256(chainID(Ln-1) + " " + diffID(Ln)). A layer's unpacked
 * directory is named by its chain id so identical stacks share directories.
 */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  let prev: string | null = null;
  for (const diffId of diffIds) {
    prev = prev === null ? diffId : sha256Digest(`${prev} ${diffId}`);
    out.push(prev);
  }
  return out;
}

// --- checked parsers -------------------------------------------------------

function bad(what: string, why: string): InvalidArgumentError {
  return new InvalidArgumentError(`${what}: ${why}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJsonObject(text: string | Buffer, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text.toString());
  } catch (e) {
    throw bad(what, `not JSON (${(e as Error).message})`);
  }
  if (!isRecord(v)) throw bad(what, 'not a JSON object');
  return v;
}

function stringMap(v: unknown, what: string): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isRecord(v) || !Object.values(v).every((x) => typeof x === 'string')) {
    throw bad(what, 'annotations must map strings to strings');
  }
  return v as Record<string, string>;
}

export function parseDescriptor(v: unknown, what: string): Descriptor {
  if (!isRecord(v)) throw bad(what, 'descriptor is not an object');
  const { mediaType, digest, size } = v;
  if (typeof mediaType !== 'string' || mediaType === '') throw bad(what, 'descriptor has no mediaType');
  if (!isDigest(digest)) throw bad(what, `descriptor digest ${JSON.stringify(digest)} is not sha256:<hex>`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw bad(what, 'descriptor size is not a non-negative integer');
  const d: Descriptor = { mediaType, digest, size };
  const annotations = stringMap(v['annotations'], what);
  if (annotations) d.annotations = annotations;
  const p = v['platform'];
  if (isRecord(p) && typeof p['architecture'] === 'string' && typeof p['os'] === 'string') {
    d.platform = { architecture: p['architecture'], os: p['os'] };
    if (typeof p['variant'] === 'string') d.platform.variant = p['variant'];
  }
  return d;
}

/** Media type of a manifest-ish document: its own field, else the HTTP Content-Type, else OCI manifest. */
export function documentMediaType(text: string | Buffer, contentType: string | null = null): string {
  const v = parseJsonObject(text, 'manifest');
  if (typeof v['mediaType'] === 'string') return v['mediaType'];
  const ct = contentType?.split(';')[0]?.trim();
  if (ct && (MANIFEST_TYPES.includes(ct) || INDEX_TYPES.includes(ct))) return ct;
  // OCI allows an index without mediaType; it is recognisable by its `manifests` list.
  return Array.isArray(v['manifests']) ? MediaType.ociIndex : MediaType.ociManifest;
}

export function parseManifest(text: string | Buffer, mediaType: string | null = null): ImageManifest {
  const what = 'image manifest';
  const v = parseJsonObject(text, what);
  if (v['schemaVersion'] !== 2) throw bad(what, 'schemaVersion is not 2');
  const mt = typeof v['mediaType'] === 'string' ? v['mediaType'] : mediaType ?? MediaType.ociManifest;
  if (!MANIFEST_TYPES.includes(mt)) throw bad(what, `media type ${mt} is not an image manifest`);
  if (!Array.isArray(v['layers'])) throw bad(what, 'layers is not a list');
  const m: ImageManifest = {
    schemaVersion: 2,
    mediaType: mt,
    config: parseDescriptor(v['config'], `${what} config`),
    layers: v['layers'].map((l, i) => parseDescriptor(l, `${what} layer ${i}`)),
  };
  const annotations = stringMap(v['annotations'], what);
  if (annotations) m.annotations = annotations;
  return m;
}

export function parseIndex(text: string | Buffer, mediaType: string | null = null): ImageIndex {
  const what = 'image index';
  const v = parseJsonObject(text, what);
  if (v['schemaVersion'] !== 2) throw bad(what, 'schemaVersion is not 2');
  const mt = typeof v['mediaType'] === 'string' ? v['mediaType'] : mediaType ?? MediaType.ociIndex;
  if (!Array.isArray(v['manifests'])) throw bad(what, 'manifests is not a list');
  return {
    schemaVersion: 2,
    mediaType: mt,
    manifests: v['manifests'].map((d, i) => parseDescriptor(d, `${what} entry ${i}`)),
  };
}

function stringList(v: unknown, what: string, field: string): void {
  if (v === undefined || v === null) return;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw bad(what, `config.${field} is not a list of strings`);
}

export function parseImageConfig(text: string | Buffer): ImageConfigJson {
  const what = 'image config';
  const v = parseJsonObject(text, what);
  if (typeof v['architecture'] !== 'string' || typeof v['os'] !== 'string') throw bad(what, 'architecture or os missing');
  const rootfs = v['rootfs'];
  if (!isRecord(rootfs) || rootfs['type'] !== 'layers' || !Array.isArray(rootfs['diff_ids'])) {
    throw bad(what, 'rootfs is not {type: "layers", diff_ids: [...]}');
  }
  for (const d of rootfs['diff_ids']) if (!isDigest(d)) throw bad(what, `diff id ${JSON.stringify(d)} is not sha256:<hex>`);
  const c = v['config'];
  if (c !== undefined && c !== null) {
    if (!isRecord(c)) throw bad(what, 'config is not an object');
    for (const f of ['Entrypoint', 'Cmd', 'Env']) stringList(c[f], what, f);
    for (const f of ['WorkingDir', 'User']) {
      if (c[f] !== undefined && typeof c[f] !== 'string') throw bad(what, `config.${f} is not a string`);
    }
  }
  if (v['created'] !== undefined && typeof v['created'] !== 'string') throw bad(what, 'created is not a string');
  return v as ImageConfigJson;
}

/** Docker's `uname -m`-ish names for Node's process.arch. */
export function hostArchitecture(): string {
  switch (process.arch) {
    case 'x64':
      return 'amd64';
    case 'ia32':
      return '386';
    default:
      return process.arch; // arm64, arm, ppc64, s390x, riscv64 match already
  }
}

/** Picks the manifest for linux/<arch> from an index. */
export function pickPlatform(index: ImageIndex, architecture: string = hostArchitecture()): Descriptor | null {
  return (
    index.manifests.find(
      (d) => MANIFEST_TYPES.includes(d.mediaType) && d.platform?.os === 'linux' && d.platform.architecture === architecture,
    ) ?? null
  );
}

/** os and architecture equal; a variant only when both name one (arm64 and arm64/v8 are one platform). */
export function matchesPlatform(have: Platform, want: Platform): boolean {
  if (have.os !== want.os || have.architecture !== want.architecture) return false;
  if (!have.variant || !want.variant) return true;
  return have.variant === want.variant;
}

/** `linux/arm64/v8`, as Docker writes a platform. */
export function platformName(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}
