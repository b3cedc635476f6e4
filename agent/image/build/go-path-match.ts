/**
 * COPY's source wildcards, which are Go's filepath.Match applied one path segment at a time (as
 * BuildKit's copier walks and matches): `*` is any run of characters, `?` one character (a code
 * point), `[abc]`, `[a-z]`, `[^a-z]` a class, `\` makes the next character literal, and nothing
 * else is special (no `**`, no braces). A segment never holds `/`, so "`*` stops at `/`" comes free.
 *
 * Not the .dockerignore patterns (dockerignore-pattern.ts): those have `**` and prefix rules.
 */
import { isMalformed } from './dockerignore-pattern';

/** Go's test for whether a source is a pattern at all: `*`, `?` or `[` not escaped by `\`. */
export function containsWildcards(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') i++;
    else if (c === '*' || c === '?' || c === '[') return true;
  }
  return false;
}

const hex = (cp: number): string => `\\u{${cp.toString(16)}}`;

/** `[...]` starting at `chars[i]` ('['), as a RegExp fragment; returns it and the index of its `]`. */
function charClass(chars: string[], i: number): { source: string; end: number } {
  let j = i + 1;
  const negated = chars[j] === '^';
  if (negated) j++;
  const ranges: string[] = [];
  const member = (): number => {
    if (chars[j] === '\\') j++;
    return (chars[j++] as string).codePointAt(0) as number;
  };
  for (let first = true; first || chars[j] !== ']'; first = false) {
    const lo = member();
    let hi = lo;
    if (chars[j] === '-') {
      j++;
      hi = member();
    }
    // Go lets a range run backwards and simply never matches it; a RegExp would throw.
    if (lo <= hi) ranges.push(lo === hi ? hex(lo) : `${hex(lo)}-${hex(hi)}`);
  }
  let source: string;
  if (ranges.length === 0) source = negated ? '[\\s\\S]' : '(?!)';
  else source = `[${negated ? '^' : ''}${ranges.join('')}]`;
  return { source, end: j };
}

export type SegmentMatcher = (name: string) => boolean;

/**
 * A matcher for one segment pattern; null when Go would call the pattern malformed (an unclosed or
 * empty class, a trailing `\`): Go's Match then matches nothing, and the caller says why instead.
 */
export function compileSegment(pattern: string): SegmentMatcher | null {
  if (isMalformed(pattern)) return null;
  const chars = Array.from(pattern);
  let source = '';
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c === '*') source += '[\\s\\S]*';
    else if (c === '?') source += '[\\s\\S]';
    else if (c === '[') {
      const cls = charClass(chars, i);
      source += cls.source;
      i = cls.end;
    } else if (c === '\\') source += hex((chars[++i] as string).codePointAt(0) as number);
    else source += hex(c.codePointAt(0) as number);
  }
  const re = new RegExp(`^${source}$`, 'u');
  return (name) => re.test(name);
}
