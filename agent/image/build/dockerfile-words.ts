/**
 * The lexical pieces of one instruction, split Docker's way: the keyword, the leading `--flags`,
 * then the arguments as a JSON array, as whitespace-separated words, or as quote-aware words that
 * keep their quotes (ENV, LABEL, ARG: the quotes go when the word is expanded).
 */
import { Problem } from './diagnostics';

const isSpace = (c: string) => /^\s$/u.test(c);

export interface SplitInstruction {
  /** As written (case kept, for messages). */
  keyword: string;
  /** `--name=value` words, quotes removed, `--` prefix kept. */
  flags: string[];
  /** Everything after the flags, trimmed. */
  rest: string;
}

/** `RUN --network=none  echo hi` → `RUN`, [`--network=none`], `echo hi`. */
export function splitInstruction(line: string, escape: string): SplitInstruction {
  const trimmed = line.trim();
  const m = /^(\S+)(?:[\t\v\f\r ]+([\s\S]*))?$/.exec(trimmed);
  const keyword = m?.[1] ?? '';
  const { flags, rest } = extractFlags(m?.[2] ?? '', escape);
  return { keyword, flags, rest: rest.trim() };
}

/** The `--` words at the start of the arguments; stops at the first word that is not one, or after a bare `--`. */
function extractFlags(args: string, escape: string): { flags: string[]; rest: string } {
  const chars = Array.from(args);
  const flags: string[] = [];
  let i = 0;
  for (;;) {
    while (i < chars.length && isSpace(chars[i] as string)) i++;
    if (i >= chars.length) return { flags, rest: '' };
    if (chars[i] !== '-' || chars[i + 1] !== '-') return { flags, rest: chars.slice(i).join('') };
    let word = '';
    let quote: string | null = null;
    for (; i < chars.length; i++) {
      const c = chars[i] as string;
      if (quote === null && isSpace(c)) break;
      if (quote === null && (c === '"' || c === "'")) quote = c;
      else if (quote !== null && c === quote) quote = null;
      else if (c === escape) {
        if (i + 1 < chars.length) word += chars[++i];
      } else word += c;
    }
    if (word === '--') return { flags, rest: chars.slice(i).join('') };
    flags.push(word);
  }
}

/** Split at runs of whitespace, as FROM, EXPOSE and shell-form COPY/ADD/VOLUME are. */
export function splitWhitespace(rest: string): string[] {
  return rest.split(/[\t\v\f\r ]+/).filter((w) => w !== '');
}

/**
 * Words for ENV, LABEL and ARG: whitespace separates them except inside quotes or after the escape
 * character; quotes and escapes stay in the word for expandWord() to remove.
 */
export function parseWords(rest: string, escape: string): string[] {
  const chars = Array.from(rest);
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: string | null = null;
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (quote === null && isSpace(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    inWord = true;
    if (c === escape && (quote === null || quote === '"')) {
      if (i + 1 < chars.length) word += c + chars[++i];
      continue;
    }
    if (quote === null && (c === '"' || c === "'")) quote = c;
    else if (c === quote) quote = null;
    word += c;
  }
  if (inWord) words.push(word);
  return words;
}

/**
 * `["a", "b"]` → [a, b]; null when the text is not a JSON array (it is then shell form, as in
 * Docker); a JSON array holding anything but strings is an error, not shell form.
 */
export function parseJsonArray(rest: string): string[] | null {
  const text = rest.trimStart();
  if (!text.startsWith('[')) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!Array.isArray(value)) return null;
  if (!value.every((v): v is string => typeof v === 'string')) {
    throw new Problem('when using JSON array syntax, arrays must be comprised of strings only');
  }
  return value;
}
