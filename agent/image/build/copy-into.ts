/**
 * The file work of COPY and ADD: resolved sources (copy-sources.ts) copied into the rootfs of the
 * image being built (the executor's overlay mount, whose upper directory becomes the layer), with
 * the rules of Docker (BuildKit's copier, where the two builders differ):
 *
 * - `dest` is relative to WORKDIR unless absolute. It is a directory when it ends with `/` (or is
 *   `.`), or when there are several sources or a wildcard (Docker demands the `/` then; here it is
 *   implied); such a destination is created when missing and must not be anything else.
 * - A source directory's contents are copied, not the directory itself; they merge into what is
 *   there, a file replacing a file or symlink, a directory onto a non-directory being an error.
 * - A file copied onto an existing directory lands inside it, under the source's name.
 * - Entries keep their mode bits and atime/mtime; symlinks are copied as symlinks; hard links
 *   become separate copies. Owners are 0:0 for context files, kept for `COPY --from` (as BuildKit
 *   keeps them), or `--chown`'s everywhere. `--chmod` replaces the mode of every copied file and
 *   directory (not symlinks). Missing directories on the way to the destination are created 0755
 *   (or `--chmod`'s mode, as current BuildKit does) and root-owned (or `--chown`'s, as Docker does);
 *   existing directories keep their owner and mode.
 * - Heredoc sources (`COPY <<EOF /etc/motd`) are files named by the heredoc, mode 0644.
 * - ADD unpacks a local tar archive (detected by content, archive-source.ts) into the destination
 *   directory: owners and modes from the archive, `--chown` applying, `--chmod` not (BuildKit's
 *   unpack ignores it too).
 *
 * Safety: the rootfs is untrusted (`etc -> /etc` is an ordinary image). The destination, and every
 * directory created for it, is resolved with resolveInRoot; below that every entry is created with
 * a name under a directory that lstat showed to be a real directory, and an existing symlink in the
 * way is replaced, never followed; files are created with O_EXCL, which does not follow a symlink.
 * Without root (unit tests) owners are left alone unless `--chown` asks for them.
 */
import { spawn } from 'node:child_process';
import { constants, type Stats } from 'node:fs';
import { chmod, copyFile, lchown, lstat, lutimes, mkdir, mkdtemp, readdir, readlink, rm, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, posix, relative, resolve } from 'node:path';
import { InvalidArgumentError } from '../../../shared/errors';
import { detectArchive, unpackArchive, type Compression } from './archive-source';
import { type Owner, parseChmod, resolveChown } from './copy-ownership';
import type { ResolvedSource } from './copy-sources';
import { resolveInRoot } from './rootfs-path';
import { rootfsTree, type SourceTree } from './source-tree';

export interface InlineFile {
  /** The heredoc's name: the file's name at the destination. */
  readonly name: string;
  readonly content: string;
}

export interface CopyOptions {
  /** The image's WORKDIR at this instruction (absolute). */
  readonly workdir: string;
  /** `--chown`, expanded, or null. */
  readonly chown: string | null;
  /** `--chmod`, expanded, or null. */
  readonly chmod: string | null;
  /** Heredoc sources. */
  readonly inline?: readonly InlineFile[];
  /** ADD: unpack local tar archives instead of copying them. */
  readonly unpack?: boolean;
  /** Where an archive is unpacked before it is copied in; the system's temporary directory by default. */
  readonly tempDir?: string;
}

const DIR_MODE = 0o755;
const HEREDOC_MODE = 0o644;

/** What every step of one copy needs to know. */
interface Copy {
  /** The rootfs, absolute. */
  readonly root: string;
  readonly owner: Owner | null;
  readonly mode: number | null;
  /** Whether owners can be set at all (root); without, only `--chown` is attempted. */
  readonly asRoot: boolean;
  /** Directory modes and times, set once everything is in (see finishDirs). */
  readonly dirs: Map<string, DirMeta>;
}

interface DirMeta {
  mode: number | null;
  times: { atime: number; mtime: number } | null;
}

/** What a directory's mode or times become at the end; a later call for the same directory wins. */
function laterForDir(c: Copy, path: string, meta: Partial<DirMeta>): void {
  const m = c.dirs.get(path) ?? { mode: null, times: null };
  if (meta.mode !== undefined) m.mode = meta.mode;
  if (meta.times !== undefined) m.times = meta.times;
  c.dirs.set(path, m);
}

const timesOf = (st: Stats): { atime: number; mtime: number } => ({ atime: st.atimeMs / 1000, mtime: st.mtimeMs / 1000 });

/**
 * Directory modes and times, deepest first. Deferred to the end because a mode without `w` or `x`
 * (`--chmod=0644`, a 0555 source directory) would stop the rest of the copy from writing below it
 * without root, and because writing into a directory changes its mtime.
 */
async function finishDirs(c: Copy): Promise<void> {
  const depth = (p: string): number => p.split('/').length;
  for (const path of [...c.dirs.keys()].sort((a, b) => depth(b) - depth(a))) {
    const m = c.dirs.get(path) as DirMeta;
    // chmod and utimes follow symlinks: only what is still a real directory is touched.
    if (!(await lstatOrNull(path))?.isDirectory()) continue;
    if (m.mode !== null) await chmod(path, m.mode);
    if (m.times !== null) await utimes(path, m.times.atime, m.times.mtime);
  }
}

/** The image path of a host path inside the rootfs, for messages. */
function shown(c: Copy, host: string): string {
  return `/${relative(c.root, host)}`;
}

async function lstatOrNull(path: string): Promise<Stats | null> {
  try {
    return await lstat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw e;
  }
}

/** The directory at `imagePath` in the rootfs, created (and its missing parents) when missing. */
async function ensureDir(c: Copy, imagePath: string): Promise<string> {
  const host = await resolveInRoot(c.root, imagePath);
  let at = c.root;
  for (const part of relative(c.root, host).split('/').filter((p) => p !== '')) {
    at = join(at, part);
    const st = await lstatOrNull(at);
    if (st?.isDirectory()) continue;
    if (st !== null) throw new InvalidArgumentError(`${shown(c, at)} is not a directory`);
    await mkdir(at, 0o700);
    if (c.owner !== null) await lchown(at, c.owner.uid, c.owner.gid);
    laterForDir(c, at, { mode: c.mode ?? DIR_MODE });
  }
  return host;
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolvePromise() : reject(new InvalidArgumentError(`${cmd} ${args.join(' ')}: ${stderr.trim() || `exit ${code}`}`))));
  });
}

/** A device node or FIFO like `st` at `target` (Node has no mknod). */
function makeNode(st: Stats, target: string): Promise<void> {
  if (st.isFIFO()) return run('mknod', [target, 'p']);
  // Linux's dev_t split (glibc's gnu_dev_major/minor) for the 32 bits a stat's rdev fits in here.
  const major = (st.rdev >>> 8) & 0xfff;
  const minor = (st.rdev & 0xff) | ((st.rdev >>> 12) & 0xfff00);
  return run('mknod', [target, st.isCharacterDevice() ? 'c' : 'b', String(major), String(minor)]);
}

/** Owner, mode and times of a copied entry, in that order (chown clears setuid bits). */
async function applyMeta(c: Copy, tree: SourceTree, st: Stats, target: string, mode: number | null): Promise<void> {
  const owner = c.owner ?? (tree.keepOwners ? { uid: st.uid, gid: st.gid } : { uid: 0, gid: 0 });
  if (c.owner !== null || c.asRoot) await lchown(target, owner.uid, owner.gid);
  const { atime, mtime } = timesOf(st);
  if (st.isSymbolicLink()) await lutimes(target, atime, mtime);
  else if (st.isDirectory()) laterForDir(c, target, { mode: mode ?? st.mode & 0o7777, times: { atime, mtime } });
  else {
    await chmod(target, mode ?? st.mode & 0o7777);
    await utimes(target, atime, mtime);
  }
}

/** Clears the way for a non-directory at `target`: an existing directory is an error, anything else goes. */
async function replaceable(c: Copy, target: string): Promise<void> {
  const existing = await lstatOrNull(target);
  if (existing === null) return;
  if (existing.isDirectory()) throw new InvalidArgumentError(`cannot replace directory ${shown(c, target)} with a file`);
  await unlink(target);
}

/** One entry of a tree (and everything below it) to `target`; `mode` is `--chmod`'s, or null. */
async function copyEntry(c: Copy, tree: SourceTree, rel: string, target: string, mode: number | null): Promise<void> {
  const from = tree.hostPath(rel);
  const st = await lstat(from);
  if (st.isSocket()) return;
  if (st.isDirectory()) {
    const existing = await lstatOrNull(target);
    if (existing !== null && !existing.isDirectory()) throw new InvalidArgumentError(`cannot copy to non-directory: ${shown(c, target)}`);
    if (existing === null) await mkdir(target, 0o700);
    await copyChildren(c, tree, rel, target, mode);
  } else {
    await replaceable(c, target);
    if (st.isFile()) await copyFile(from, target, constants.COPYFILE_EXCL);
    else if (st.isSymbolicLink()) await symlink(await readlink(from), target);
    else await makeNode(st, target);
  }
  await applyMeta(c, tree, st, target, mode);
}

async function copyChildren(c: Copy, tree: SourceTree, rel: string, target: string, mode: number | null): Promise<void> {
  for (const name of await tree.list(rel)) await copyEntry(c, tree, rel === '.' ? name : `${rel}/${name}`, join(target, name), mode);
}

/** A source directory's contents into the directory at `destImage`, created when missing. */
async function copyDirectory(c: Copy, src: ResolvedSource, destImage: string): Promise<void> {
  const dest = await resolveInRoot(c.root, destImage);
  const existing = await lstatOrNull(dest);
  if (existing !== null && !existing.isDirectory()) throw new InvalidArgumentError(`cannot copy to non-directory: ${shown(c, dest)}`);
  if (existing === null) await ensureDir(c, destImage);
  await copyChildren(c, src.tree, src.resolved, dest, c.mode);
  // The destination keeps its owner and mode but takes the source directory's times, as in BuildKit.
  laterForDir(c, dest, { times: timesOf(await lstat(src.tree.hostPath(src.resolved))) });
}

/** Where a non-directory named `name` goes: inside `dest` when that is a directory, else at `dest`. */
async function fileTarget(dest: string, name: string): Promise<string> {
  return (await lstatOrNull(dest))?.isDirectory() ? join(dest, name) : dest;
}

/** Removes a temporary tree even when an archive left directories without write permission. */
async function removeTree(dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
  } catch {
    const open = async (d: string): Promise<void> => {
      await chmod(d, 0o700).catch(() => undefined);
      for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) if (e.isDirectory()) await open(join(d, e.name));
    };
    await open(dir);
    await rm(dir, { recursive: true, force: true });
  }
}

/** ADD of a local archive: unpacked into an empty temporary directory, then copied into `destImage`. */
async function addArchive(c: Copy, src: ResolvedSource, compression: Compression, destImage: string, tempDir: string): Promise<void> {
  const temp = await mkdtemp(join(tempDir, 'tsswarm-add-'));
  try {
    await unpackArchive(src.tree.hostPath(src.resolved), compression, temp, src.source);
    const dest = await ensureDir(c, destImage);
    await copyChildren(c, rootfsTree(temp, `archive ${src.source}`), '.', dest, null);
  } finally {
    await removeTree(temp);
  }
}

async function writeInline(c: Copy, file: InlineFile, dest: string): Promise<void> {
  const target = await fileTarget(dest, basename(file.name));
  await replaceable(c, target);
  await writeFile(target, file.content, { flag: 'wx', mode: 0o600 }); // 'wx': O_EXCL, never through a symlink
  if (c.owner !== null) await lchown(target, c.owner.uid, c.owner.gid);
  await chmod(target, c.mode ?? HEREDOC_MODE);
}

/** Whether Docker treats the destination as a directory whatever is there now. */
function destIsDirectory(dest: string, sources: readonly ResolvedSource[], inline: readonly InlineFile[]): boolean {
  if (dest === '' || dest === '.' || dest.endsWith('/') || dest.endsWith('/.')) return true;
  return sources.length + inline.length > 1 || sources.some((s) => s.fromPattern);
}

export async function copyInto(rootfs: string, sources: readonly ResolvedSource[], dest: string, o: CopyOptions): Promise<void> {
  const root = resolve(rootfs);
  const mode = o.chmod === null ? null : parseChmod(o.chmod);
  const owner = o.chown === null ? null : await resolveChown(root, o.chown);
  const c: Copy = { root, owner, mode, asRoot: process.getuid?.() === 0, dirs: new Map() };
  const inline = o.inline ?? [];

  const destImage = posix.resolve('/', o.workdir, dest);
  let destHost: string;
  if (destIsDirectory(dest, sources, inline)) destHost = await ensureDir(c, destImage);
  else {
    destHost = await resolveInRoot(root, destImage);
    if (destHost !== root) await ensureDir(c, shown(c, dirname(destHost)));
  }
  const destResolved = shown(c, destHost);

  for (const src of sources) {
    if (o.unpack === true && src.type === 'file') {
      const compression = await detectArchive(src.tree.hostPath(src.resolved));
      if (compression !== null) {
        await addArchive(c, src, compression, destResolved, o.tempDir ?? tmpdir());
        continue;
      }
    }
    if (src.type === 'dir') await copyDirectory(c, src, destResolved);
    else await copyEntry(c, src.tree, src.resolved, await fileTarget(destHost, src.name), c.mode);
  }
  for (const file of inline) await writeInline(c, file, destHost);
  await finishDirs(c);
}
