/**
 * Splits a `command:` / `entrypoint:` string into words the way a POSIX shell
 * would, but without any expansion (no variables, globs or substitutions:
 * interpolation already happened, and the container gets exactly these words).
 */

export class ShellSplitError extends Error {}

/** Characters a backslash escapes inside double quotes; before any other it stays literal. */
const DOUBLE_QUOTE_ESCAPABLE = new Set(['$', '`', '"', '\\', '\n']);

export function shellSplit(input: string): string[] {
  const words: string[] = [];
  let word = '';
  // A word exists once anything, even an empty `''`, was seen: `a '' b` is three words.
  let inWord = false;
  let i = 0;
  while (i < input.length) {
    const c = input[i] ?? '';
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
    } else if (c === '\\') {
      if (i + 1 >= input.length) throw new ShellSplitError('trailing backslash');
      const next = input[i + 1] ?? '';
      // Backslash-newline is a line continuation and produces nothing.
      if (next !== '\n') {
        word += next;
        inWord = true;
      }
      i += 2;
    } else if (c === "'") {
      const close = input.indexOf("'", i + 1);
      if (close < 0) throw new ShellSplitError('unterminated single quote');
      word += input.slice(i + 1, close);
      inWord = true;
      i = close + 1;
    } else if (c === '"') {
      i++;
      inWord = true;
      let closed = false;
      while (i < input.length) {
        const d = input[i] ?? '';
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        if (d === '\\' && i + 1 < input.length && DOUBLE_QUOTE_ESCAPABLE.has(input[i + 1] ?? '')) {
          const next = input[i + 1] ?? '';
          if (next !== '\n') word += next;
          i += 2;
          continue;
        }
        word += d;
        i++;
      }
      if (!closed) throw new ShellSplitError('unterminated double quote');
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}
