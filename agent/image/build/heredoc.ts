/**
 * Which words of an instruction open a heredoc (`<<EOF`, `<<-EOF`, `<<"EOF"`, `3<<EOF`), read as
 * Docker does: only RUN, COPY and ADD (also after ONBUILD) in shell form have them; quotes inside a
 * word hide a `<<` (`echo "<<EOF"` is text); a quoted delimiter means the body is not expanded.
 */
import { parseJsonArray, splitInstruction } from './dockerfile-words';

export interface HeredocHeader {
  readonly name: string;
  readonly expand: boolean;
  readonly chomp: boolean;
  readonly fd: number | null;
}

const HEREDOC_KEYWORDS = new Set(['RUN', 'COPY', 'ADD']);
const HEADER = /^(\d*)<<(-?)\s*([^<]*)$/;
const isSpace = (c: string) => /^\s$/u.test(c);

/** The heredocs an instruction line (continuations joined) opens, in order. */
export function heredocHeaders(line: string, escape: string): HeredocHeader[] {
  if (!line.includes('<<')) return [];
  let split = splitInstruction(line, escape);
  if (split.keyword.toUpperCase() === 'ONBUILD') split = splitInstruction(split.rest, escape);
  if (!HEREDOC_KEYWORDS.has(split.keyword.toUpperCase())) return [];
  try {
    if (parseJsonArray(split.rest) !== null) return [];
  } catch {
    return []; // a bad JSON array is reported by the instruction's own reader
  }
  return rawWords(line).flatMap((w) => {
    const h = heredocWord(w);
    return h === null ? [] : [h];
  });
}

/** Words with quotes and backslash escapes kept; whitespace right after `<<` does not end the word. */
function rawWords(line: string): string[] {
  const chars = Array.from(line);
  const words: string[] = [];
  let word = '';
  let quote: string | null = null;
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (quote === null && isSpace(c)) {
      if (word !== '') words.push(word);
      word = '';
      continue;
    }
    word += c;
    if (c === '\\' && quote !== "'" && i + 1 < chars.length) word += chars[++i];
    else if (quote === null && (c === '"' || c === "'")) quote = c;
    else if (c === quote) quote = null;
    else if (quote === null && c === '<' && chars[i + 1] === '<') {
      word += chars[++i];
      while (i + 1 < chars.length && /[\t\r ]/.test(chars[i + 1] as string)) i++;
    }
  }
  if (word !== '') words.push(word);
  return words;
}

/** The heredoc a single word opens (`<<EOF`, `<<-"EOF"`, `2<<EOF`), or null when it opens none. */
export function heredocWord(word: string): HeredocHeader | null {
  const m = HEADER.exec(word);
  if (m === null) return null;
  const rest = m[3] ?? '';
  if (rest === '') return null;
  // The delimiter must be one word once unquoted; any quote in it turns expansion off.
  let name = '';
  let quoted = false;
  let quote: string | null = null;
  const chars = Array.from(rest);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (quote === null && isSpace(c)) return null;
    if (quote === null && (c === '"' || c === "'")) {
      quote = c;
      quoted = true;
    } else if (c === quote) quote = null;
    else if (c === '\\' && quote !== "'" && i + 1 < chars.length) name += chars[++i];
    else name += c;
  }
  if (quote !== null || name === '') return null;
  return { name, expand: !quoted, chomp: m[2] === '-', fd: m[1] === '' || m[1] === undefined ? null : Number(m[1]) };
}
