/**
 * Which files a COPY or ADD takes, Docker's way: every source is a path from the root of a source
 * tree (the build context, or another stage's rootfs for `COPY --from`), a leading `/` meaning
 * that root too; the path is cleaned, and one that climbs out of the root (`../x`) is refused, as
 * the classic builder refuses it (BuildKit silently drops the `..`). A source with `*`, `?` or
 * `[` is a pattern: the part before the first wildcard segment is followed like any path, the rest
 * is matched segment by segment (Go's filepath.Match, go-path-match.ts) against the tree's
 * listing, walking only into real directories, as BuildKit's walk does.
 *
 * A pattern may match nothing; only when every source was such a pattern (and there is no heredoc)
 * is it an error, `no source files were specified`, as in Docker. A plain path that is not there is
 * always an error. Each source's own symlinks are followed inside the tree (a source that is a
 * symlink copies what it points to, under the symlink's name); symlinks below a source directory
 * are copied as they are, by copy-into.ts.
 *
 * URLs and git repositories are refused: there is no network here.
 */
import { InvalidArgumentError } from '../../../shared/errors';
import { cleanPath } from './dockerignore-pattern';
import type { EntryType } from './entry-type';
import { compileSegment, containsWildcards } from './go-path-match';
import { followInTree } from './rootfs-path';
import type { SourceTree } from './source-tree';

export interface ResolvedSource {
  /** The source as written. */
  readonly source: string;
  /** The path matched in the tree, before its own symlink (if it is one) is followed; `.` is the root. */
  readonly path: string;
  /** What `path` leads to in the tree once symlinks are followed. */
  readonly resolved: string;
  /** The name it takes inside a destination directory: the last component of `path`. */
  readonly name: string;
  /** The type of `resolved`: never a symlink. */
  readonly type: Exclude<EntryType, 'symlink'>;
  /** Found by a wildcard: the destination is then a directory. */
  readonly fromPattern: boolean;
  readonly tree: SourceTree;
}

export interface ResolveOptions {
  /** ADD rather than COPY (only the message for a URL differs). */
  readonly add?: boolean;
  /** How many heredoc sources the instruction also has: with one, no file source is needed. */
  readonly inline?: number;
}

export const URL_REFUSED = 'ADD from a URL is not supported: download it in a RUN step or COPY it from the build context';

/** `user@host:path`, the scp-like form git accepts (a user is required, as in BuildKit). */
const SCP_LIKE = /^[A-Za-z0-9_-]+@[A-Za-z0-9.-]+:/;

function remoteKind(source: string): 'url' | 'git' | null {
  if (/^https?:\/\//.test(source)) return /\.git(?:$|[#?])/.test(source) ? 'git' : 'url';
  if (/^(?:git|ssh):\/\//.test(source) || SCP_LIKE.test(source)) return 'git';
  return null;
}

function notFound(tree: SourceTree, path: string): InvalidArgumentError {
  const where = tree.filtered ? `${tree.name} or excluded by .dockerignore` : tree.name;
  return new InvalidArgumentError(`file not found in ${where}: stat ${path}: file does not exist`);
}

function lastName(path: string): string {
  return path === '.' ? '.' : path.slice(path.lastIndexOf('/') + 1);
}

const join = (dir: string, name: string): string => (dir === '.' ? name : `${dir}/${name}`);

async function resolved(tree: SourceTree, source: string, path: string, fromPattern: boolean): Promise<ResolvedSource> {
  const target = await followInTree(tree, path);
  const type = target === '.' ? 'dir' : await tree.lstat(target);
  // followInTree leaves no symlink at the end; null is a symlink leading nowhere, or nothing at all.
  if (type === null || type === 'symlink') throw notFound(tree, path);
  return { source, path, resolved: target, name: lastName(path), type, fromPattern, tree };
}

/** What a pattern matches, in path order (the order Docker copies them in). */
async function expand(tree: SourceTree, source: string, cleaned: string): Promise<ResolvedSource[]> {
  const segments = cleaned.split('/');
  const first = segments.findIndex(containsWildcards);
  const base = await followInTree(tree, segments.slice(0, first).join('/'));
  if ((base === '.' ? 'dir' : await tree.lstat(base)) !== 'dir') return [];
  let found = [base];
  for (let i = first; i < segments.length; i++) {
    const match = compileSegment(segments[i] as string);
    if (match === null) throw new InvalidArgumentError(`${source}: syntax error in pattern`);
    const last = i === segments.length - 1;
    const next: string[] = [];
    for (const dir of found) {
      for (const name of await tree.list(dir)) {
        if (!match(name)) continue;
        const path = join(dir, name);
        // Between segments only real directories are walked into, never a symlink to one.
        if (last || (await tree.lstat(path)) === 'dir') next.push(path);
      }
    }
    found = next;
  }
  const out: ResolvedSource[] = [];
  for (const path of found) out.push(await resolved(tree, source, path, true));
  return out;
}

/** The tree-relative path a source names, or an error when it leaves the tree. */
export function sourcePath(tree: SourceTree, source: string): string {
  const cleaned = cleanPath(source.replace(/^\/+/, ''));
  if (cleaned === '..' || cleaned.startsWith('../')) throw new InvalidArgumentError(`forbidden path outside the ${tree.name}: ${source}`);
  return cleaned;
}

export async function resolveSources(tree: SourceTree, sources: readonly string[], options: ResolveOptions = {}): Promise<ResolvedSource[]> {
  const out: ResolvedSource[] = [];
  for (const source of sources) {
    const remote = remoteKind(source);
    if (remote !== null) {
      if (options.add === true) throw new InvalidArgumentError(URL_REFUSED);
      throw new InvalidArgumentError(remote === 'url' ? "source can't be a URL for COPY" : "source can't be a git ref for COPY");
    }
    const path = sourcePath(tree, source);
    if (containsWildcards(path)) out.push(...(await expand(tree, source, path)));
    else out.push(await resolved(tree, source, path, false));
  }
  if (sources.length > 0 && out.length === 0 && (options.inline ?? 0) === 0) throw new InvalidArgumentError('no source files were specified');
  return out;
}
