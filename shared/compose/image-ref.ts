/**
 * Image references in stack files: the cluster-wide rules of
 * shared/image-ref.ts, reported as a value so the loader can collect every
 * problem of a file before it fails.
 */
import { normalizeImageRef as normalize } from '../image-ref';

export function normalizeImageRef(ref: string): { ok: true; ref: string } | { ok: false; reason: string } {
  try {
    return { ok: true, ref: normalize(ref) };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    // Drop the `invalid image reference "X": ` prefix; the loader names the key.
    return { ok: false, reason: msg.replace(/^invalid image reference "[^"]*":\s*/, '') };
  }
}
