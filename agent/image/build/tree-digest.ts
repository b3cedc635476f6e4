/**
 * The content digest of the files a COPY (or ADD) takes from the build context,
 * for the build cache: the step can be reused exactly when this and the
 * instruction are unchanged. It covers what ends up in the image from the files
 * themselves: relative paths, type, permission bits (setuid, setgid, sticky
 * included), size, symlink targets, device numbers and file contents. It leaves
 * out what COPY replaces or what a fresh checkout changes: mtimes, owners (COPY
 * sets them to root or --chown) and hard-link structure.
 *
 * A directory in `relPaths` stands for everything below it. Symlinks are digested
 * as links, never followed; a COPY that follows a symlinked source should pass
 * the path it resolved to.
 */
import { createHash } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { TsswarmError } from '../../../shared/errors';
import { entryType } from './entry-type';

/** Bumped whenever what goes into the digest changes, so old cache entries stop matching. */
const FORMAT = 'tsswarm-tree-digest-v1';

export class BuildContextPathError extends TsswarmError {
  readonly code = 'BUILD_CONTEXT_PATH';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

export async function treeDigest(root: string, relPaths: readonly string[]): Promise<string> {
  const found = new Map<string, Stats>();
  for (const p of relPaths) await collect(root, normalize(p), found);
  const paths = [...found.keys()].map((p) => ({ p, key: Buffer.from(p) }));
  paths.sort((a, b) => Buffer.compare(a.key, b.key));

  const hash = createHash('sha256');
  hash.update(`${FORMAT}\n`);
  for (const { p, key } of paths) {
    const st = found.get(p);
    if (st === undefined) continue;
    // Length-prefixed path, then NUL-separated fields: no two trees give the same byte stream.
    hash.update(`${key.length}:`);
    hash.update(key);
    hash.update(`\0${entryType(st)}\0${(st.mode & 0o7777).toString(8)}\0${await detail(join(root, p), st)}\n`);
  }
  return 'sha256:' + hash.digest('hex');
}

async function collect(root: string, rel: string, found: Map<string, Stats>): Promise<void> {
  if (found.has(rel)) return;
  let st: Stats;
  try {
    st = await lstat(join(root, rel));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new BuildContextPathError(rel, `${rel}: not found in the build context`);
    throw e;
  }
  found.set(rel, st);
  if (!st.isDirectory()) return;
  for (const raw of await readdir(join(root, rel), { encoding: 'buffer' })) {
    const name = raw.toString('utf8');
    const child = rel === '.' ? name : `${rel}/${name}`;
    if (!Buffer.from(name).equals(raw)) throw new BuildContextPathError(child, `${child}: the name is not UTF-8 (hex ${raw.toString('hex')})`);
    await collect(root, child, found);
  }
}


/** What else identifies the entry: a file's size and content hash, a link's target, a device's number. */
async function detail(abs: string, st: Stats): Promise<string> {
  if (st.isFile()) {
    const content = createHash('sha256');
    for await (const chunk of createReadStream(abs)) content.update(chunk as Buffer);
    return `${st.size}\0${content.digest('hex')}`;
  }
  if (st.isSymbolicLink()) return (await readlink(abs, { encoding: 'buffer' })).toString('hex');
  if (st.isCharacterDevice() || st.isBlockDevice()) return String(st.rdev);
  // A directory's own size depends on the file system, not on what it holds.
  return '';
}

/** A context-relative path, `.` for the context itself; `..` and absolute escapes are refused. */
function normalize(path: string): string {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new BuildContextPathError(path, `${path}: outside the build context`);
  return parts.length === 0 ? '.' : parts.join('/');
}
