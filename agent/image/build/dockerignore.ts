/**
 * .dockerignore with Docker's rules (BuildKit's reading of it): `#` lines are comments, patterns are
 * trimmed and cleaned like Go's filepath.Clean with a leading `/` dropped, `!pattern` is an
 * exception, and the last pattern that matches a path decides. A pattern that matches a directory
 * matches everything below it. An excluded directory is still walked when an exception could
 * re-include something inside it (`mayContainExceptions`), as BuildKit's walker does; a path
 * re-included that way brings its parent directories along (the walker's job).
 *
 * Pure: the caller reads the file. (Why not @balena/dockerignore: see README.md.)
 */
import { DockerfileError } from './diagnostics';
import { type CompiledPattern, cleanPath, compilePattern, isMalformed, testPattern } from './dockerignore-pattern';

/** How the context walker treats one entry. */
export type WalkDecision =
  /** Send it (and, for a directory, walk into it). */
  | 'include'
  /** Leave it out; for a directory, do not walk into it. */
  | 'skip'
  /** A directory left out that may hold re-included paths: walk into it, send it only if something inside is sent. */
  | 'descend';

export interface DockerignoreMatcher {
  /** The patterns as Docker keeps them after cleaning (`!` first for exceptions), in order. */
  readonly patterns: readonly string[];
  /** Whether the path (relative to the context root, `/`-separated) is left out of the context. */
  matches(relPath: string): boolean;
  /** Whether an exception could re-include a path below this directory, so it must be walked. */
  mayContainExceptions(dir: string): boolean;
  /** matches() and mayContainExceptions() together, the one question a walker asks per entry. */
  decide(relPath: string, isDir: boolean): WalkDecision;
}

interface Rule {
  readonly exception: boolean;
  readonly pattern: string;
  readonly compiled: CompiledPattern;
}

/** Docker's walker can only rule a directory out when no exception has a wildcard (`*[]?^\`). */
const WILDCARD = /[*[\]?^\\]/;

function withoutTrailingGlob(pattern: string): string {
  return pattern.replace(/\/\*\*$/, '').replace(/\/\*$/, '');
}

function readRules(text: string, file: string): Rule[] {
  const rules: Rule[] = [];
  text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .forEach((raw, i) => {
      if (raw.startsWith('#')) return;
      let p = raw.trim();
      if (p === '') return;
      const exception = p.startsWith('!');
      if (exception) p = p.slice(1).trim();
      if (p !== '') {
        p = cleanPath(p);
        if (p.length > 1 && p.startsWith('/')) p = p.slice(1);
      }
      if (exception && p === '') throw new DockerfileError(file, i + 1, 'illegal exclusion pattern: "!"');
      if (isMalformed(p)) throw new DockerfileError(file, i + 1, `bad pattern "${raw.trim()}": syntax error in pattern`);
      rules.push({ exception, pattern: p, compiled: compilePattern(p) });
    });
  return rules;
}

/** The path's parent directories, outermost first: `a/b/c` → `a`, `a/b`. */
function parents(path: string): string[] {
  const parts = path.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

export function readDockerignore(text: string, file = '.dockerignore'): DockerignoreMatcher {
  const rules = readRules(text, file);
  const exceptions = rules.filter((r) => r.exception).map((r) => withoutTrailingGlob(r.pattern));
  const exceptionsAnywhere = exceptions.some((p) => WILDCARD.test(p));

  const matches = (relPath: string): boolean => {
    const path = cleanPath(relPath.replace(/^\/+/, ''));
    if (path === '.') return false; // the context root itself is never left out
    const above = parents(path);
    let excluded = false;
    for (const r of rules) {
      // A rule can only change the answer when it pulls the other way.
      if (r.exception !== excluded) continue;
      if (testPattern(r.compiled, path) || above.some((d) => testPattern(r.compiled, d))) excluded = !r.exception;
    }
    return excluded;
  };

  const mayContainExceptions = (dir: string): boolean => {
    if (exceptions.length === 0) return false;
    if (exceptionsAnywhere) return true;
    const path = cleanPath(dir.replace(/^\/+/, ''));
    if (path === '.') return true;
    return exceptions.some((p) => `${p}/`.startsWith(`${path}/`));
  };

  return {
    patterns: rules.map((r) => (r.exception ? `!${r.pattern}` : r.pattern)),
    matches,
    mayContainExceptions,
    decide(relPath, isDir) {
      if (!matches(relPath)) return 'include';
      return isDir && mayContainExceptions(relPath) ? 'descend' : 'skip';
    },
  };
}
