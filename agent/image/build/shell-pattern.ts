/**
 * The shell patterns of `${VAR#pattern}`, `${VAR%pattern}` and `${VAR/pattern/text}`: `*` any run of
 * characters, `?` one character, `\` makes the next one literal. Shortest and longest matches are
 * found by trying each cut of the value against the whole pattern, which is what POSIX specifies
 * (a regular expression's own greediness would not give the shortest suffix).
 */

function escapeRegExp(c: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(c) ? `\\${c}` : c;
}

/** The pattern as a regular expression source, without anchors. */
function patternSource(pattern: string): string {
  const chars = Array.from(pattern);
  let out = '';
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    const next = chars[i + 1];
    if (c === '*') out += '[\\s\\S]*';
    else if (c === '?') out += '[\\s\\S]';
    else if (c === '\\' && next !== undefined) {
      out += escapeRegExp(next);
      i++;
    } else out += escapeRegExp(c);
  }
  return out;
}

function wholeMatcher(pattern: string): RegExp {
  return new RegExp(`^(?:${patternSource(pattern)})$`, 'u');
}

/** `${VAR#p}` (shortest) and `${VAR##p}` (longest): the value without the prefix the pattern matches. */
export function removePrefix(value: string, pattern: string, longest: boolean): string {
  const re = wholeMatcher(pattern);
  const cuts = Array.from({ length: value.length + 1 }, (_, i) => i);
  if (longest) cuts.reverse();
  for (const i of cuts) if (re.test(value.slice(0, i))) return value.slice(i);
  return value;
}

/** `${VAR%p}` (shortest) and `${VAR%%p}` (longest): the value without the suffix the pattern matches. */
export function removeSuffix(value: string, pattern: string, longest: boolean): string {
  const re = wholeMatcher(pattern);
  const cuts = Array.from({ length: value.length + 1 }, (_, i) => i);
  if (!longest) cuts.reverse();
  for (const i of cuts) if (re.test(value.slice(i))) return value.slice(0, i);
  return value;
}

/** `${VAR/p/text}` (first match) and `${VAR//p/text}` (every match): leftmost, longest; empty matches are not replaced. */
export function replaceMatches(value: string, pattern: string, replacement: string, all: boolean): string {
  if (pattern === '') return value;
  const re = new RegExp(patternSource(pattern), 'uy');
  let out = '';
  let pos = 0;
  let replaced = false;
  while (pos < value.length) {
    re.lastIndex = pos;
    const m = (!replaced || all) && re.exec(value);
    if (m && m[0].length > 0) {
      out += replacement;
      pos += m[0].length;
      replaced = true;
      continue;
    }
    out += value[pos];
    pos++;
  }
  return out;
}
