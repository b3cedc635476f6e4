/**
 * One .dockerignore pattern, compiled the way Docker's pattern matcher (moby/patternmatcher) reads
 * it: `*` and `?` stop at `/`, `**` crosses directories (`**\/` also matches no directory at all),
 * `[...]` is a character class, `\` makes the next character literal, and every other character is
 * itself (so `a+b` or `(x)` name files, not regular expressions). Patterns without wildcards compare
 * as strings; `foo/**` is a prefix and `**\/foo` a suffix, as Docker optimises them (which makes
 * `**.log` match `x.log` at any depth).
 */

export type CompiledPattern =
  | { readonly kind: 'exact'; readonly text: string }
  | { readonly kind: 'prefix'; readonly text: string }
  | { readonly kind: 'suffix'; readonly text: string }
  | { readonly kind: 'regex'; readonly re: RegExp };

/** Go's filepath.Clean for `/`-separated paths. */
export function cleanPath(p: string): string {
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part !== '..') out.push(part);
    else if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
    else if (!rooted) out.push('..');
  }
  const joined = (rooted ? '/' : '') + out.join('/');
  return joined === '' ? '.' : joined;
}

/**
 * Whether Go's filepath.Match would call the pattern malformed (Docker refuses the whole file then):
 * a trailing `\`, or a `[` class that is unclosed, empty, or has a range without an end.
 */
export function isMalformed(pattern: string): boolean {
  const c = Array.from(pattern);
  // One class member (possibly escaped); returns the index after it, or -1 when malformed.
  const member = (i: number): number => {
    if (i >= c.length || c[i] === '-' || c[i] === ']') return -1;
    if (c[i] === '\\') i++;
    return i + 1 < c.length ? i + 1 : -1;
  };
  for (let i = 0; i < c.length; i++) {
    if (c[i] === '\\') {
      if (++i >= c.length) return true;
    } else if (c[i] === '[') {
      i++;
      if (c[i] === '^') i++;
      for (let n = 0; ; n++) {
        if (c[i] === ']' && n > 0) break;
        i = member(i);
        if (i < 0) return true;
        if (c[i] === '-') {
          i = member(i + 1);
          if (i < 0) return true;
        }
      }
    }
  }
  return false;
}

const escapeRegExp = (ch: string) => (/[\\^$.*+?()[\]{}|/]/.test(ch) ? `\\${ch}` : ch);
/** Inside a class `-` is special too (and, with the `u` flag, may only be escaped there). */
const escapeInClass = (ch: string) => (ch === '-' ? '\\-' : escapeRegExp(ch));

/** `[...]` from index `start` (at the `[`) as a JS class; returns it and the index of the closing `]`. */
function charClass(c: readonly string[], start: number): { source: string; end: number } {
  let i = start + 1;
  let source = '[';
  if (c[i] === '^') {
    source += '^';
    i++;
  }
  for (let n = 0; !(c[i] === ']' && n > 0); n++) {
    if (c[i] === '\\') i++;
    source += escapeInClass(c[i] as string);
    i++;
    if (c[i] === '-') {
      if (c[i + 1] === '\\') i++;
      source += `-${escapeInClass(c[i + 1] as string)}`;
      i += 2;
    }
  }
  return { source: `${source}]`, end: i };
}

/** Compiles a cleaned, well-formed pattern (no leading `!`). */
export function compilePattern(pattern: string): CompiledPattern {
  const c = Array.from(pattern);
  let kind: CompiledPattern['kind'] = 'exact';
  let source = '';
  for (let i = 0; i < c.length; i++) {
    const ch = c[i] as string;
    if (ch === '*' && c[i + 1] === '*') {
      const first = i === 0;
      i++;
      if (c[i + 1] === '/') i++;
      if (i + 1 >= c.length) {
        if (kind === 'exact') kind = 'prefix';
        else {
          source += '[\\s\\S]*';
          kind = 'regex';
        }
      } else {
        source += '(?:[\\s\\S]*/)?';
        kind = 'regex';
      }
      if (first) kind = 'suffix';
    } else if (ch === '*') {
      source += '[^/]*';
      kind = 'regex';
    } else if (ch === '?') {
      source += '[^/]';
      kind = 'regex';
    } else if (ch === '[') {
      const cls = charClass(c, i);
      source += cls.source;
      i = cls.end;
      kind = 'regex';
    } else if (ch === '\\') {
      source += escapeRegExp(c[++i] as string);
      kind = 'regex';
    } else source += escapeRegExp(ch);
  }
  if (kind === 'prefix') return { kind, text: pattern.slice(0, -2) };
  if (kind === 'suffix') return { kind, text: pattern.slice(2) };
  if (kind === 'regex') return { kind, re: new RegExp(`^${source}$`, 'u') };
  return { kind, text: pattern };
}

export function testPattern(p: CompiledPattern, path: string): boolean {
  switch (p.kind) {
    case 'exact':
      return path === p.text;
    case 'prefix':
      return path.startsWith(p.text);
    case 'suffix':
      // `**/foo` also matches `foo` at the top.
      return path.endsWith(p.text) || (p.text.startsWith('/') && path === p.text.slice(1));
    case 'regex':
      return p.re.test(path);
  }
}
