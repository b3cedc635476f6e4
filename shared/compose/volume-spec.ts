/**
 * The short syntax of a service's `volumes` entry, as docker/cli splits it:
 * `TARGET`, `SOURCE:TARGET` or `SOURCE:TARGET:OPTIONS`. Returns the parts or a reason; mounts.ts
 * decides what kind of mount it is and adds key path and line.
 */
import type { BindPropagation } from '../types';

export const PROPAGATIONS: readonly BindPropagation[] = ['rprivate', 'private', 'rshared', 'shared', 'rslave', 'slave'];

/**
 * Accepted and ignored: `z`/`Z` ask for SELinux relabelling, which tsswarm does not apply;
 * `cached`/`delegated`/`consistent` tune macOS file sharing and mean nothing on Linux.
 */
const IGNORED_OPTIONS = ['z', 'Z', 'cached', 'delegated', 'consistent'];

export interface ShortVolume {
  /** '' for an anonymous volume (`TARGET` alone). */
  source: string;
  target: string;
  readOnly: boolean;
  noCopy: boolean;
  /** A propagation option, which only a bind may have. */
  propagation: BindPropagation | null;
}

export type ShortVolumeResult = { ok: true; volume: ShortVolume } | { ok: false; reason: string };

export function parseShortVolume(spec: string): ShortVolumeResult {
  if (spec === '') return { ok: false, reason: 'invalid empty volume spec' };
  const parts = spec.split(':');
  if (parts.includes('')) return { ok: false, reason: `invalid volume ${JSON.stringify(spec)}: empty section between colons` };
  if (parts.length > 3) return { ok: false, reason: `invalid volume ${JSON.stringify(spec)}: too many colons` };
  const volume: ShortVolume = { source: '', target: '', readOnly: false, noCopy: false, propagation: null };
  if (parts.length === 1) {
    volume.target = spec;
    return { ok: true, volume };
  }
  volume.source = parts[0] ?? '';
  volume.target = parts[1] ?? '';
  for (const option of parts.length === 3 ? (parts[2] ?? '').split(',') : []) {
    if (option === 'ro') volume.readOnly = true;
    else if (option === 'rw') volume.readOnly = false;
    else if (option === 'nocopy') volume.noCopy = true;
    else if ((PROPAGATIONS as readonly string[]).includes(option)) volume.propagation = option as BindPropagation;
    else if (!IGNORED_OPTIONS.includes(option)) {
      return { ok: false, reason: `invalid volume option ${JSON.stringify(option)} in ${JSON.stringify(spec)}: use ro, rw, nocopy, ${PROPAGATIONS.join(', ')}` };
    }
  }
  return { ok: true, volume };
}

/** Bind sources are paths: absolute, or relative to the stack file (`./x`, `../x`, `.x`), or under the home folder (`~/x`). */
export function isPathSource(source: string): boolean {
  return source.startsWith('/') || source.startsWith('.') || source.startsWith('~');
}
