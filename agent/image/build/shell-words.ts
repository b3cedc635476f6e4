/**
 * Docker's variable substitution, for the instructions the builder itself expands (ADD COPY ENV
 * EXPOSE FROM LABEL STOPSIGNAL USER VOLUME WORKDIR, and ARG defaults): `$VAR`, `${VAR}`,
 * `${VAR:-word}` `${VAR-word}` `${VAR:+word}` `${VAR+word}` `${VAR:?msg}` `${VAR?msg}`,
 * `${VAR#p}` `${VAR##p}` `${VAR%p}` `${VAR%%p}` `${VAR/p/s}` `${VAR//p/s}`; quotes are removed, single
 * quotes keep `$` literal, the escape character makes the next character literal. RUN, CMD and
 * ENTRYPOINT in shell form are not expanded here: their shell does it.
 *
 * Docker's own rules where they differ from a POSIX shell: an unset variable is the empty string,
 * `$1`, `$@`, `$$`... look up variables of that name (so are empty), and unquoted expansion results
 * are split into words only where words are asked for (EXPOSE).
 */
import { InvalidArgumentError } from '../../../shared/errors';
import type { EscapeChar } from './dockerfile-types';
import { removePrefix, removeSuffix, replaceMatches } from './shell-pattern';

/** The variables in scope at an instruction: the ARGs declared so far in the stage, and its ENV. */
export type BuildVars = Readonly<Record<string, string>>;

/** A word that cannot be expanded (`${X`, `${X:?must be set}` with X unset...); the caller adds the line. */
export class ShellWordError extends InvalidArgumentError {}

/** A piece of the result: `split` when unquoted whitespace in it separates words. */
interface Segment {
  text: string;
  split: boolean;
}

const SPECIAL_PARAMS = new Set(['@', '*', '#', '?', '-', '$', '!', '0']);
const isSpace = (c: string) => /^\s$/u.test(c);
const isDigit = (c: string) => /^\p{Nd}$/u.test(c);
const isNameChar = (c: string) => c === '_' || /^[\p{L}\p{Nd}]$/u.test(c);

class WordLexer {
  private pos = 0;
  private readonly chars: string[];

  constructor(
    source: string,
    private readonly vars: BuildVars,
    private readonly escape: string,
    /** False for heredoc bodies: quotes there are text. */
    private readonly quotes: boolean,
  ) {
    this.chars = Array.from(source);
  }

  /** Reads to `stop` (consumed) or, when `stop` is null, to the end. */
  segments(stop: string | null, rawEscapes: boolean): Segment[] {
    const out: Segment[] = [];
    while (this.pos < this.chars.length) {
      const c = this.chars[this.pos] as string;
      if (stop !== null && c === stop) {
        this.pos++;
        return out;
      }
      if (c === '$') out.push({ text: this.dollar(), split: true });
      else if (this.quotes && c === "'") out.push({ text: this.singleQuoted(), split: false });
      else if (this.quotes && c === '"') out.push({ text: this.doubleQuoted(rawEscapes), split: false });
      else {
        this.pos++;
        if (c === this.escape) {
          const next = this.chars[this.pos++];
          if (next === undefined) break; // a trailing escape character is dropped
          out.push({ text: rawEscapes ? c + next : next, split: false });
        } else out.push({ text: c, split: true });
      }
    }
    if (stop !== null) throw new Error(stop === '}' ? "syntax error: missing '}'" : `syntax error: missing '${stop}' in \${}`);
    return out;
  }

  private singleQuoted(): string {
    this.pos++;
    let text = '';
    for (;;) {
      const c = this.chars[this.pos++];
      if (c === undefined) throw new Error('unexpected end of statement while looking for matching single-quote');
      if (c === "'") return text;
      text += c;
    }
  }

  private doubleQuoted(rawEscapes: boolean): string {
    this.pos++;
    let text = '';
    for (;;) {
      const c = this.chars[this.pos];
      if (c === undefined) throw new Error('unexpected end of statement while looking for matching double-quote');
      if (c === '"') {
        this.pos++;
        return text;
      }
      if (c === '$') {
        text += this.dollar();
        continue;
      }
      this.pos++;
      const next = this.chars[this.pos];
      if (c === this.escape && next !== undefined && (rawEscapes || next === '"' || next === '$' || next === this.escape)) {
        // Inside double quotes the escape character only escapes ", $ and itself; before anything else it is kept.
        text += rawEscapes ? c + next : next;
        this.pos++;
      } else text += c;
    }
  }

  private name(): string {
    const first = this.chars[this.pos];
    if (first === undefined) return '';
    if (isDigit(first)) {
      let digits = '';
      while (this.chars[this.pos] !== undefined && isDigit(this.chars[this.pos] as string)) digits += this.chars[this.pos++];
      return digits;
    }
    if (SPECIAL_PARAMS.has(first)) {
      this.pos++;
      return first;
    }
    let name = '';
    while (this.chars[this.pos] !== undefined && isNameChar(this.chars[this.pos] as string)) name += this.chars[this.pos++];
    return name;
  }

  private lookup(name: string): string | undefined {
    return Object.hasOwn(this.vars, name) ? this.vars[name] : undefined;
  }

  private text(stop: string, rawEscapes: boolean): string {
    return this.segments(stop, rawEscapes)
      .map((s) => s.text)
      .join('');
  }

  private dollar(): string {
    this.pos++;
    if (this.chars[this.pos] !== '{') {
      const name = this.name();
      return name === '' ? '$' : (this.lookup(name) ?? '');
    }
    this.pos++;
    const first = this.chars[this.pos];
    if (first === undefined) throw new Error("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new Error('syntax error: bad substitution');
    const name = this.name();
    const c = this.chars[this.pos++];
    if (c === undefined) throw new Error("syntax error: missing '}'");
    if (c === '}') return this.lookup(name) ?? '';
    if (c === '/') {
      const all = this.chars[this.pos] === '/';
      if (all) this.pos++;
      const pattern = this.text('/', true);
      const replacement = this.text('}', true);
      return replaceMatches(this.lookup(name) ?? '', pattern, replacement, all);
    }
    let op = c;
    const colon = c === ':';
    if (colon) {
      const after = this.chars[this.pos++];
      if (after === undefined) throw new Error("syntax error: missing '}'");
      op = after;
    }
    if (!'+-?#%'.includes(op) || (colon && (op === '#' || op === '%'))) {
      throw new Error(`unsupported modifier (${colon ? ':' : ''}${op}) in substitution`);
    }
    const word = this.text('}', op === '#' || op === '%');
    const value = this.lookup(name);
    const unset = value === undefined || (colon && value === '');
    switch (op) {
      case '-':
        return unset ? word : (value as string);
      case '+':
        return unset ? '' : word;
      case '?':
        if (unset) throw new Error(`${name}: ${word || (value === undefined ? 'is not allowed to be unset' : 'is not allowed to be empty')}`);
        return value as string;
      default: {
        const longest = word.startsWith(op);
        const pattern = longest ? word.slice(1) : word;
        const v = value ?? '';
        return op === '#' ? removePrefix(v, pattern, longest) : removeSuffix(v, pattern, longest);
      }
    }
  }
}

function run<T>(source: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const shown = source.length > 60 ? `${source.slice(0, 57)}...` : source;
    throw new ShellWordError(`failed to process "${shown}": ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

/** One word, expanded and unquoted, as ENV values, WORKDIR, USER, COPY paths... are. */
export function expandWord(word: string, vars: BuildVars, escape: EscapeChar = '\\'): string {
  return run(word, () =>
    new WordLexer(word, vars, escape, true)
      .segments(null, false)
      .map((s) => s.text)
      .join(''),
  );
}

/** Text expanded and then split into words at unquoted whitespace, as EXPOSE's arguments are. */
export function expandWords(text: string, vars: BuildVars, escape: EscapeChar = '\\'): string[] {
  return run(text, () => {
    const words: string[] = [];
    let current = '';
    for (const seg of new WordLexer(text, vars, escape, true).segments(null, false)) {
      if (!seg.split) {
        current += seg.text;
        continue;
      }
      for (const c of seg.text) {
        if (!isSpace(c)) current += c;
        else if (current !== '') {
          words.push(current);
          current = '';
        }
      }
    }
    if (current !== '') words.push(current);
    return words;
  });
}

/**
 * The body of a COPY/ADD heredoc whose delimiter was not quoted: variables expanded, quotes kept as
 * text, `\` escaping (Docker uses `\` here whatever the escape directive says).
 */
export function expandHeredocBody(content: string, vars: BuildVars): string {
  return run(content, () =>
    new WordLexer(content, vars, '\\', false)
      .segments(null, false)
      .map((s) => s.text)
      .join(''),
  );
}
