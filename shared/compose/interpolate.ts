/**
 * Compose variable interpolation: `$VAR`, `${VAR}`, `${VAR:-default}`,
 * `${VAR-default}`, `${VAR:?message}`, `${VAR?message}`, `${VAR:+alt}`,
 * `${VAR+alt}` and `$$` for a literal dollar.
 *
 * Defaults, alternatives and messages are templates themselves
 * (`${A:-${B}}`), and are evaluated only when used, so a variable named in a
 * default that is not needed neither warns nor fails.
 */
import type { TreeNode } from './parse';

/** Returns the value of a variable, or undefined when it is not set (empty string is set). */
export type Lookup = (name: string) => string | undefined;

/** The template is malformed or a required variable is missing; the caller adds path and line. */
export class InterpolationError extends Error {}

export interface Interpolated {
  value: string;
  /** Variables that were used without a value or default, in order of first use. */
  unset: string[];
}

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

export function interpolate(template: string, lookup: Lookup): Interpolated {
  // Fast path: most values contain no `$` at all.
  if (!template.includes('$')) return { value: template, unset: [] };
  const scanner = new Scanner(template, lookup);
  const value = scanner.expand(0, false, true);
  if (value.end !== template.length) throw scanner.invalid();
  return { value: value.text, unset: scanner.unset };
}

class Scanner {
  readonly unset: string[] = [];

  constructor(
    private readonly src: string,
    private readonly lookup: Lookup,
  ) {}

  invalid(): InterpolationError {
    return new InterpolationError(
      `invalid interpolation format in ${JSON.stringify(this.src)}: you may need to escape any $ with another $`,
    );
  }

  /**
   * Expands from `pos` up to the end of the string, or up to the `}` that
   * closes the enclosing `${` when `inBraces`. With `evaluate` false it only
   * finds the end (for a default that is not used).
   */
  expand(pos: number, inBraces: boolean, evaluate: boolean): { text: string; end: number } {
    let text = '';
    let i = pos;
    while (i < this.src.length) {
      const c = this.src[i];
      if (c === '}' && inBraces) return { text, end: i };
      if (c !== '$') {
        text += c;
        i++;
        continue;
      }
      const next = this.src[i + 1];
      if (next === '$') {
        text += '$';
        i += 2;
      } else if (next === '{') {
        const braced = this.braced(i + 2, evaluate);
        text += braced.text;
        i = braced.end;
      } else if (next !== undefined && NAME_START.test(next)) {
        const end = this.nameEnd(i + 1);
        const name = this.src.slice(i + 1, end);
        if (evaluate) text += this.valueOrBlank(name);
        i = end;
      } else {
        throw this.invalid();
      }
    }
    if (inBraces) throw this.invalid();
    return { text, end: i };
  }

  private nameEnd(start: number): number {
    let end = start;
    while (end < this.src.length && NAME_CHAR.test(this.src[end] ?? '')) end++;
    return end;
  }

  /** `pos` is just after `${`; returns the expansion and the index after the closing `}`. */
  private braced(pos: number, evaluate: boolean): { text: string; end: number } {
    if (!NAME_START.test(this.src[pos] ?? '')) throw this.invalid();
    const nameEnd = this.nameEnd(pos);
    const name = this.src.slice(pos, nameEnd);
    let i = nameEnd;
    if (this.src[i] === '}') return { text: evaluate ? this.valueOrBlank(name) : '', end: i + 1 };

    const colon = this.src[i] === ':';
    if (colon) i++;
    const op = this.src[i];
    if (op !== '-' && op !== '?' && op !== '+') throw this.invalid();
    i++;

    const value = evaluate ? this.lookup(name) : undefined;
    // With the colon, an empty value counts as missing (POSIX shell semantics).
    const present = value !== undefined && !(colon && value === '');
    const useArg = evaluate && (op === '+' ? present : !present);
    const arg = this.expand(i, true, useArg);
    const end = arg.end + 1;
    if (!evaluate) return { text: '', end };
    if (op === '+') return { text: present ? arg.text : '', end };
    if (present) return { text: value, end };
    if (op === '-') return { text: arg.text, end };
    const suffix = arg.text === '' ? '' : `: ${arg.text}`;
    throw new InterpolationError(`required variable ${name} is missing a value${suffix}`);
  }

  private valueOrBlank(name: string): string {
    const value = this.lookup(name);
    if (value !== undefined) return value;
    if (!this.unset.includes(name)) this.unset.push(name);
    return '';
  }
}

export interface TreeInterpolation {
  /** `path: message (line N)` for each value that could not be interpolated. */
  errors: { path: string; message: string; line: number }[];
  /** Unset variables across the whole tree, each once, in order of first use. */
  unset: string[];
}

/**
 * Interpolates every string value of the tree in place (keys are left alone,
 * as in compose). Numbers and booleans are not templates.
 */
export function interpolateTree(root: TreeNode, lookup: Lookup, rootPath: string): TreeInterpolation {
  const result: TreeInterpolation = { errors: [], unset: [] };
  const visit = (node: TreeNode, path: string): void => {
    if (node.kind === 'map') {
      for (const e of node.entries) visit(e.value, path === '' ? e.key : `${path}.${e.key}`);
    } else if (node.kind === 'seq') {
      node.items.forEach((item, i) => visit(item, `${path}[${i}]`));
    } else if (typeof node.value === 'string') {
      try {
        const out = interpolate(node.value, lookup);
        node.value = out.value;
        node.text = out.value;
        for (const name of out.unset) if (!result.unset.includes(name)) result.unset.push(name);
      } catch (e) {
        if (!(e instanceof InterpolationError)) throw e;
        result.errors.push({ path: path === '' ? '(top level)' : path, message: e.message, line: node.line });
      }
    }
  };
  visit(root, rootPath);
  return result;
}

export function unsetVariableWarning(name: string): string {
  return `The "${name}" variable is not set. Defaulting to a blank string.`;
}
