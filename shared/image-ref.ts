/**
 * Image references, following the distribution reference grammar
 * (github.com/distribution/reference): `name[:tag][@digest]`.
 *
 * Names are kept in Docker's familiar form: a name without a registry host is
 * on the default registry (`busybox` is `docker.io/library/busybox`), and a
 * name on it is written without the host and without `library/`, so
 * `docker.io/library/busybox` and `busybox` are one image (`registryOf` gives
 * the host and the path on it). Any other host (`localhost:5000/app`,
 * `ghcr.io/org/app`) stays part of the name.
 */
import { InvalidArgumentError } from './errors';

export interface ImageRef {
  /** Repository name, possibly with `/` and a leading domain. */
  name: string;
  tag: string | null;
  /** `sha256:<64 hex>`. */
  digest: string | null;
}

const NAME_MAX = 255;
// One path component: lowercase alphanumerics joined by `.`, `_`, `__` or runs of `-`.
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
// A domain is a dotted host name (mixed case allowed) with an optional port, or
// a bracketed IPv6 address with an optional port.
const DOMAIN =
  /^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
// Any digest the grammar allows; used only to give a better message for non-sha256 ones.
const ANY_DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;

export function parseImageRef(s: string): ImageRef {
  if (s.length === 0) throw invalid(s, 'it is empty');
  let rest = s;
  let digest: string | null = null;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) {
      throw invalid(
        s,
        ANY_DIGEST.test(digest) && !digest.startsWith('sha256:')
          ? `only sha256 digests are supported, got "${digest}"`
          : `"${digest}" is not a digest (want sha256:<64 lowercase hex>)`,
      );
    }
  }
  // A colon after the last slash starts the tag; one before it is a domain's port.
  let tag: string | null = null;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) {
      throw invalid(s, `"${tag}" is not a valid tag (letters, digits, _ . -; at most 128; not starting with . or -)`);
    }
  }
  checkName(s, rest);
  return { name: rest, tag, digest };
}

/** `busybox:latest@sha256:…` → `busybox:latest`: a pinned image as its tag (a reference without a tag keeps its digest). */
export function withoutDigest(ref: string): string {
  const at = ref.indexOf('@');
  if (at < 0) return ref;
  const head = ref.slice(0, at);
  return head.lastIndexOf(':') > head.lastIndexOf('/') ? head : ref;
}

/** `busybox:latest@sha256:0123456789abcdef…` → `busybox:latest@sha256:0123456789ab`, for tables. */
export function shortDigestRef(ref: string): string {
  return ref.replace(/@sha256:([a-f0-9]{12})[a-f0-9]{52}$/, '@sha256:$1');
}

/** The registry bare names live on, as Docker has it. */
export const DEFAULT_REGISTRY = 'docker.io';
/** Names Docker accepts for the default registry's host. */
const DEFAULT_REGISTRY_ALIASES = new Set([DEFAULT_REGISTRY, 'index.docker.io']);

/**
 * `busybox` → `busybox:latest`, `docker.io/library/busybox:1` → `busybox:1`: the familiar name,
 * with `latest` when neither a tag nor a digest is given.
 */
export function normalizeImageRef(s: string): string {
  return formatImageRef(canonicalImageRef(s));
}

/** The parsed form of normalizeImageRef: familiar name, default tag. */
export function canonicalImageRef(s: string): ImageRef {
  const ref = withDefaultTag(parseImageRef(s));
  return { ...ref, name: familiarName(ref.name) };
}

/** The registry host of a repository name and its path there: `busybox` → docker.io, `library/busybox`. */
export function registryOf(name: string): { registry: string; path: string } {
  const parts = name.split('/');
  if (parts.length > 1 && isDomain(parts[0] as string)) {
    const host = parts.shift() as string;
    const registry = DEFAULT_REGISTRY_ALIASES.has(host) ? DEFAULT_REGISTRY : host;
    const path = parts.join('/');
    return { registry, path: registry === DEFAULT_REGISTRY && parts.length === 1 ? `library/${path}` : path };
  }
  return { registry: DEFAULT_REGISTRY, path: parts.length === 1 ? `library/${name}` : name };
}

/** `docker.io/library/busybox` → `busybox`, `docker.io/team/app` → `team/app`; other hosts unchanged. */
export function familiarName(name: string): string {
  const { registry, path } = registryOf(name);
  if (registry !== DEFAULT_REGISTRY) return name;
  return path.startsWith('library/') && path.split('/').length === 2 ? path.slice('library/'.length) : path;
}

/** `host[:port]` as the reference grammar takes it, normalised (`index.docker.io` is `docker.io`); throws otherwise. */
export function normalizeRegistryHost(host: string): string {
  if (!DOMAIN.test(host)) throw new InvalidArgumentError(`"${host}" is not a registry host (host[:port])`);
  return DEFAULT_REGISTRY_ALIASES.has(host) ? DEFAULT_REGISTRY : host;
}

/** Like the distribution grammar: the first of several components is a domain when it could not be a path component (a dot, a port, upper case) or is localhost. */
function isDomain(first: string): boolean {
  return /[.:A-Z[]/.test(first) || first === 'localhost';
}

export function withDefaultTag(ref: ImageRef): ImageRef {
  return ref.tag === null && ref.digest === null ? { ...ref, tag: 'latest' } : ref;
}

export function formatImageRef(ref: ImageRef): string {
  return ref.name + (ref.tag !== null ? `:${ref.tag}` : '') + (ref.digest !== null ? `@${ref.digest}` : '');
}

/** True for a repository name alone (no tag, no digest), as used in `/v2/<name>/...` paths. */
export function isValidImageName(name: string): boolean {
  try {
    checkName(name, name);
    return true;
  } catch {
    return false;
  }
}

function checkName(whole: string, name: string): void {
  if (name.length === 0) throw invalid(whole, 'the name is empty');
  if (name.length > NAME_MAX) throw invalid(whole, `the name is longer than ${NAME_MAX} characters`);
  const parts = name.split('/');
  const first = parts[0] ?? '';
  if (parts.length > 1 && isDomain(first)) {
    if (!DOMAIN.test(first)) throw invalid(whole, `"${first}" is not a valid registry host`);
    parts.shift();
  }
  for (const part of parts) {
    if (!COMPONENT.test(part)) {
      throw invalid(
        whole,
        part === ''
          ? 'the name has an empty path component'
          : `"${part}" is not a valid name component (lowercase letters, digits, separated by . _ __ or -)`,
      );
    }
  }
}

function invalid(ref: string, why: string): InvalidArgumentError {
  return new InvalidArgumentError(`invalid image reference "${ref}": ${why}`);
}
