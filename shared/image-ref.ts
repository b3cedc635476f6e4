/**
 * Image references, following the distribution reference grammar
 * (github.com/distribution/reference): `name[:tag][@digest]`.
 *
 * Names are local to the cluster registry, so nothing is rewritten: `busybox`
 * stays `busybox` (no `docker.io/library/` prefix is added or stripped). A
 * leading domain (`localhost:5000/app`) is accepted because the grammar allows
 * it and someone will paste one; it is kept as part of the name.
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

/** `busybox` → `busybox:latest`; refs with a tag or digest are returned as parsed. */
export function normalizeImageRef(s: string): string {
  return formatImageRef(withDefaultTag(parseImageRef(s)));
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
  // Like the distribution grammar, the first of several components is a domain
  // when it could not be a path component (has a dot, a port, or upper case) or is localhost.
  const first = parts[0] ?? '';
  if (parts.length > 1 && (/[.:A-Z[]/.test(first) || first === 'localhost')) {
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
