/**
 * The build context as COPY and ADD see it: the context directory walked once, with .dockerignore
 * applied the way BuildKit's file sender applies it, into a sorted listing of what Docker would
 * send. COPY resolves its sources against this listing only, so an ignored file is "not found"
 * exactly as it is with Docker, even though it is on the disk next to the others.
 *
 * The walk asks the matcher one question per entry (`decide`): skip it, include it, or walk into an
 * ignored directory because an exception (`!keep/this`) may re-include something below it; such a
 * directory is listed only when something inside it is. The Dockerfile and .dockerignore get no
 * special treatment: Docker always sends them to read them, but a COPY sees them only when
 * .dockerignore does not leave them out.
 *
 * Symlinks are listed as symlinks and never followed, so nothing outside the context directory is
 * ever read through the listing. Sockets are left out: they cannot be sent (Docker's tar skips
 * them too). A name that is not UTF-8 is refused, as tree-digest.ts refuses it.
 */
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InvalidArgumentError } from '../../../shared/errors';
import { cleanPath } from './dockerignore-pattern';
import { type DockerignoreMatcher, readDockerignore } from './dockerignore';
import { entryType, type EntryType } from './entry-type';

export interface ContextEntry {
  /** Relative to the context root, `/`-separated (`src/app.js`). */
  readonly path: string;
  /** From lstat. */
  readonly type: EntryType;
}

export interface BuildContext {
  /** The context directory, absolute. */
  readonly root: string;
  /** Everything included, sorted bytewise by path; the root itself is not an entry. */
  readonly files: readonly ContextEntry[];
  /** Whether the path (relative, a leading `/` meaning the root) is included; the root always is. */
  has(rel: string): boolean;
  /** The included entry at a path, or null. */
  entry(rel: string): ContextEntry | null;
  /** Names of the included entries directly below a directory, sorted. */
  children(rel: string): readonly string[];
}

/** Bytewise, as Go sorts paths (JavaScript's default order is UTF-16 units). */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

async function listDir(root: string, rel: string): Promise<Dirent<Buffer>[]> {
  try {
    return await readdir(rel === '' ? root : join(root, rel), { withFileTypes: true, encoding: 'buffer' });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new InvalidArgumentError(`cannot read the build context at ${rel === '' ? '.' : rel}: ${code}`, { cause: e });
  }
}

/** The included entries below `rel` ('' for the root), in no particular order. */
async function walk(root: string, rel: string, matcher: DockerignoreMatcher | null, out: ContextEntry[]): Promise<void> {
  for (const d of await listDir(root, rel)) {
    const name = d.name.toString('utf8');
    const path = rel === '' ? name : `${rel}/${name}`;
    if (!Buffer.from(name).equals(d.name)) throw new InvalidArgumentError(`build context: ${path}: the name is not UTF-8 (hex ${d.name.toString('hex')})`);
    const type = entryType(d);
    if (type === 'socket') continue;
    const decision = matcher === null ? 'include' : matcher.decide(path, type === 'dir');
    if (decision === 'skip') continue;
    if (decision === 'include') {
      out.push({ path, type });
      if (type === 'dir') await walk(root, path, matcher, out);
      continue;
    }
    // 'descend': an ignored directory that exceptions may reach into.
    const below: ContextEntry[] = [];
    await walk(root, path, matcher, below);
    if (below.length > 0) out.push({ path, type }, ...below);
  }
}

/** `a/b`, `/a/b/`, `./a` → `a/b`, `a`; the root → ''. Null for a path that leaves the context. */
export function contextRel(p: string): string | null {
  const c = cleanPath(p.replace(/^\/+/, ''));
  if (c === '.') return '';
  if (c === '..' || c.startsWith('../')) return null;
  return c;
}

export async function readContext(dir: string, dockerignoreText: string | null): Promise<BuildContext> {
  const root = resolve(dir);
  const st = await stat(root).catch((e: unknown) => {
    throw new InvalidArgumentError(`build context ${dir}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { cause: e });
  });
  if (!st.isDirectory()) throw new InvalidArgumentError(`build context ${dir} is not a directory`);
  const matcher = dockerignoreText === null ? null : readDockerignore(dockerignoreText);

  const files: ContextEntry[] = [];
  await walk(root, '', matcher, files);
  files.sort((a, b) => compareBytes(a.path, b.path));

  const byPath = new Map<string, ContextEntry>(files.map((f) => [f.path, f]));
  const kids = new Map<string, string[]>([['', []]]);
  for (const f of files) {
    const cut = f.path.lastIndexOf('/');
    const parent = cut < 0 ? '' : f.path.slice(0, cut);
    const list = kids.get(parent) ?? [];
    list.push(f.path.slice(cut + 1));
    kids.set(parent, list);
  }
  for (const list of kids.values()) list.sort(compareBytes);

  const lookup = (rel: string): string | null => contextRel(rel);
  return {
    root,
    files,
    has(rel) {
      const p = lookup(rel);
      return p === '' || (p !== null && byPath.has(p));
    },
    entry(rel) {
      const p = lookup(rel);
      return p === null || p === '' ? null : (byPath.get(p) ?? null);
    },
    children(rel) {
      const p = lookup(rel);
      return p === null ? [] : (kids.get(p) ?? []);
    },
  };
}
