/**
 * What a build step's overlayfs upper directory says, as the list of tar entries
 * of its OCI layer, in the order they are written: sorted byte-wise by path
 * (parents come before children because a parent is a prefix), so the same upper
 * always gives the same layer.
 *
 * - overlayfs whiteouts (char device 0:0 `x`) become OCI whiteouts (empty file `.wh.x`);
 *   overlayfs shares one whiteout inode between many, so they are never hard links.
 * - an opaque directory (`trusted.overlay.opaque=y`) is written, followed by `<dir>/.wh..wh..opq`.
 * - the second and later names of an inode seen inside the upper are hard-link entries to the
 *   first. A hard link whose other name stayed in a lower layer cannot be one (tar links only
 *   within an archive): the copied-up name is a plain file, which is also what the step saw,
 *   since copy-up breaks the link.
 * - `trusted.overlay.*` never reaches the layer; only `security.capability` is carried.
 * - redirect (renamed lower directory) and metacopy (data left in the lower file) marks are
 *   refused: the upper alone does not hold the content. The build mounts with redirect_dir=off
 *   and metacopy=off, where a rename fails with EXDEV and `mv` copies the whole directory up.
 * - excluded paths (files the build put there for the step only: etc/hosts, ...) are left out,
 *   exact paths only, with everything below them. A directory left holding nothing but excluded
 *   paths goes too: it was only copied up (with a fresh mtime) to hold them.
 */
import type { BigIntStats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '../../../shared/errors';
import { LayerEntryError, UpperNotSupportedError } from './layer-errors';
import { CAPABILITY_XATTR, METACOPY_XATTR, OPAQUE_XATTR, REDIRECT_XATTR, type XattrMap } from './upper-xattrs';

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';

export type EntryType = 'file' | 'link' | 'symlink' | 'directory' | 'character-device' | 'block-device' | 'fifo';

export interface LayerEntry {
  /** Path in the layer, relative, no leading `./`; a directory's ends in `/`. */
  name: string;
  type: EntryType;
  /** Permission bits including setuid, setgid and sticky. */
  mode: number;
  uid: number;
  gid: number;
  /** Whole seconds since the epoch (tar headers hold no more). */
  mtime: number;
  /** Content bytes: regular files only. */
  size: number;
  /** A symlink's target, or for a hard link the earlier entry's name. */
  linkname: string | null;
  devmajor: number;
  devminor: number;
  /** Where a regular file's content is read from; null for entries with none. */
  source: string | null;
  /** The `security.capability` value to carry, regular files only. */
  capability: Buffer | null;
}

/** `exclude`: paths relative to the root filesystem (`etc/resolv.conf`); a leading `/` is allowed. */
export async function planLayer(upperDir: string, xattrs: XattrMap, exclude: readonly string[] = []): Promise<LayerEntry[]> {
  const excluded = new Set(exclude.map(normalizeExclude));
  const found: Found[] = [];
  await visitDir(upperDir, '', xattrs, excluded, found);
  const keyed = found.map((f) => ({ f, key: Buffer.from(f.rel) }));
  keyed.sort((a, b) => Buffer.compare(a.key, b.key));
  return toEntries(keyed.map((k) => k.f));
}

interface Found {
  rel: string;
  abs: string;
  st: BigIntStats;
  /** A whiteout, an opaque marker, or anything else (written as what it is). */
  role: 'whiteout' | 'opaque-marker' | 'plain';
  linkTarget: string | null;
  capability: Buffer | null;
}

interface Visited {
  /** Entries written for the subtree. */
  kept: boolean;
  /** Whether an excluded path was somewhere below. */
  excludedBelow: boolean;
}

async function visitDir(abs: string, rel: string, xattrs: XattrMap, excluded: ReadonlySet<string>, out: Found[]): Promise<Visited> {
  let kept = false;
  let excludedBelow = false;
  const dirAttrs = xattrs.get(rel);
  if (dirAttrs?.get(OPAQUE_XATTR)?.toString() === 'y') {
    const st = await lstat(abs, { bigint: true });
    out.push({ rel: join(rel, OPAQUE_MARKER), abs, st, role: 'opaque-marker', linkTarget: null, capability: null });
    kept = true;
  }
  for (const raw of await readdir(abs, { encoding: 'buffer' })) {
    const name = utf8(raw, rel === '' ? 'the upper directory' : rel, 'a name');
    const childRel = rel === '' ? name : `${rel}/${name}`;
    if (excluded.has(childRel)) {
      excludedBelow = true;
      continue;
    }
    const childAbs = join(abs, name);
    const st = await lstat(childAbs, { bigint: true });
    const attrs = xattrs.get(childRel);
    if (attrs?.has(REDIRECT_XATTR)) {
      throw new UpperNotSupportedError(childRel, `${childRel}: a renamed lower directory (overlayfs redirect_dir) cannot become a layer on its own; mount the build's overlay with redirect_dir=off`);
    }
    if (attrs?.has(METACOPY_XATTR)) {
      throw new UpperNotSupportedError(childRel, `${childRel}: its data is still in a lower layer (overlayfs metacopy); mount the build's overlay with metacopy=off`);
    }
    if (st.isCharacterDevice() && st.rdev === 0n) {
      out.push({ rel: rel === '' ? WHITEOUT_PREFIX + name : `${rel}/${WHITEOUT_PREFIX}${name}`, abs: childAbs, st, role: 'whiteout', linkTarget: null, capability: null });
      kept = true;
      continue;
    }
    if (name.startsWith(WHITEOUT_PREFIX)) {
      throw new LayerEntryError(childRel, `${childRel}: a file named ${WHITEOUT_PREFIX}* would be read as a whiteout when the layer is unpacked`);
    }
    if (st.isDirectory()) {
      const below = await visitDir(childAbs, childRel, xattrs, excluded, out);
      const isOpaque = attrs?.get(OPAQUE_XATTR)?.toString() === 'y';
      // Scaffolding: copied up only to hold excluded files, nothing of the step's own.
      if (!below.kept && below.excludedBelow && !isOpaque) {
        excludedBelow = true;
        continue;
      }
      out.push({ rel: childRel, abs: childAbs, st, role: 'plain', linkTarget: null, capability: null });
      kept = true;
      excludedBelow ||= below.excludedBelow;
      continue;
    }
    const linkTarget = st.isSymbolicLink() ? utf8(await readlink(childAbs, { encoding: 'buffer' }), childRel, 'a link target') : null;
    const capability = st.isFile() ? (attrs?.get(CAPABILITY_XATTR) ?? null) : null;
    out.push({ rel: childRel, abs: childAbs, st, role: 'plain', linkTarget, capability });
    kept = true;
  }
  return { kept, excludedBelow };
}

function toEntries(found: readonly Found[]): LayerEntry[] {
  const firstName = new Map<string, string>();
  const entries: LayerEntry[] = [];
  for (const f of found) {
    const base = {
      mode: Number(f.st.mode & 0o7777n),
      uid: Number(f.st.uid),
      gid: Number(f.st.gid),
      mtime: Number(f.st.mtimeNs / 1_000_000_000n),
      size: 0,
      linkname: null,
      devmajor: 0,
      devminor: 0,
      source: null,
      capability: null,
    };
    if (f.role === 'whiteout') {
      entries.push({ ...base, name: f.rel, type: 'file' });
      continue;
    }
    if (f.role === 'opaque-marker') {
      // The directory's owner and time, so the marker changes nothing the directory does not.
      entries.push({ ...base, name: f.rel, type: 'file', mode: 0o644 });
      continue;
    }
    const st = f.st;
    if (st.isDirectory()) {
      entries.push({ ...base, name: `${f.rel}/`, type: 'directory' });
      continue;
    }
    if (st.nlink > 1n) {
      const inode = `${st.dev}:${st.ino}`;
      const first = firstName.get(inode);
      if (first !== undefined) {
        entries.push({ ...base, name: f.rel, type: 'link', linkname: first });
        continue;
      }
      firstName.set(inode, f.rel);
    }
    if (st.isFile()) {
      entries.push({ ...base, name: f.rel, type: 'file', size: Number(st.size), source: f.abs, capability: f.capability });
    } else if (st.isSymbolicLink()) {
      entries.push({ ...base, name: f.rel, type: 'symlink', linkname: f.linkTarget });
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      entries.push({ ...base, name: f.rel, type: st.isCharacterDevice() ? 'character-device' : 'block-device', devmajor: major(st.rdev), devminor: minor(st.rdev) });
    } else if (st.isFIFO()) {
      entries.push({ ...base, name: f.rel, type: 'fifo' });
    } else {
      throw new LayerEntryError(f.rel, `${f.rel}: a socket cannot be stored in a layer`);
    }
  }
  return entries;
}

/** Linux's dev_t split (glibc's gnu_dev_major / gnu_dev_minor). */
function major(rdev: bigint): number {
  return Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
}

function minor(rdev: bigint): number {
  return Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
}

/** Names and link targets are bytes; a layer's (PAX `path`, `linkpath`) are UTF-8. Others are refused, not mangled. */
function utf8(raw: Buffer, where: string, what: string): string {
  const text = raw.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(raw)) {
    throw new LayerEntryError(where, `${where}: holds ${what} that is not UTF-8 (hex ${raw.toString('hex')}), which a layer cannot carry`);
  }
  return text;
}

function normalizeExclude(path: string): string {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.length === 0 || parts.includes('..')) throw new InvalidArgumentError(`cannot exclude "${path}" from a layer: give a path inside the root filesystem, like etc/hosts`);
  return parts.join('/');
}
