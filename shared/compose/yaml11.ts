/**
 * The YAML 1.1 readings docker/cli gives some values. It parses stack files with gopkg.in/yaml.v2
 * (YAML 1.1: `yes`/`on` are booleans, `0440` is octal) and casts interpolated strings at boolean
 * keys the same way. We parse YAML 1.2 (so `"8080:80"`-style values and environment values keep
 * the text the user wrote) and apply the 1.1 reading only where a key wants a boolean or a file
 * mode, which is where a file written for docker depends on it.
 */
import type { TreeNode } from './parse';

const TRUE = new Set(['y', 'yes', 'true', 'on']);
const FALSE = new Set(['n', 'no', 'false', 'off']);

/** A boolean, or a string spelling one in YAML 1.1 (any case); null for anything else. */
export function yaml11Boolean(node: TreeNode): boolean | null {
  if (node.kind !== 'scalar') return null;
  if (typeof node.value === 'boolean') return node.value;
  if (typeof node.value !== 'string') return null;
  const word = node.value.trim().toLowerCase();
  if (TRUE.has(word)) return true;
  if (FALSE.has(word)) return false;
  return null;
}

/**
 * A file mode. A plain `0440` is octal (YAML 1.1, as docker reads it), and so are `0o440` and
 * the strings `"0440"` / `"0o440"` (a mode written in quotes, or through a variable, means the
 * same to its author); other integers are decimal (`mode: 292` is 0o444). null when not a
 * non-negative integer.
 */
export function yaml11FileMode(node: TreeNode): number | null {
  if (node.kind !== 'scalar') return null;
  if (typeof node.value === 'number') {
    const text = node.text.trim();
    // yaml reads a plain 0440 as decimal 440 (YAML 1.2); its source text still says octal.
    if (/^0[0-7]+$/.test(text)) return parseInt(text, 8);
    // `0999` is neither octal nor what the author meant by decimal.
    if (/^0\d+$/.test(text)) return null;
    return Number.isSafeInteger(node.value) && node.value >= 0 ? node.value : null;
  }
  if (typeof node.value !== 'string') return null;
  const s = node.value.trim();
  if (/^0[0-7]*$/.test(s)) return parseInt(s, 8);
  if (/^0\d+$/.test(s)) return null;
  if (/^0o[0-7]+$/i.test(s)) return parseInt(s.slice(2), 8);
  if (/^\d+$/.test(s)) return Number.isSafeInteger(Number(s)) ? Number(s) : null;
  return null;
}

/** `0o440` → `0440`, how modes are shown in messages. */
export function formatMode(mode: number): string {
  return `0${mode.toString(8)}`;
}
