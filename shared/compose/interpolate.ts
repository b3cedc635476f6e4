/**
 * Variable interpolation as `docker stack deploy` does it (docker/cli's compose template rule):
 *
 * - `$$` is a literal `$`;
 * - `$NAME` and `${NAME}` are the variable's value ('' with a warning when it is not set); a name
 *   is a letter or `_` followed by letters, digits and `_`;
 * - `${NAME:-text}` / `${NAME-text}`: the value, or `text` when unset (or, with the colon, empty);
 * - `${NAME:?text}` / `${NAME?text}`: the value, or the deploy fails with `text`;
 * - the text after the operator runs to the first `}` and is taken literally: it is not
 *   interpolated again, so `${HASH:-$2y$05$x}` is `$2y$05$x` and `${A:-${B}}` is `${B}`;
 * - without braces an operator still applies, up to the next `}` or the end of the value:
 *   docker reads `$TAG-alpine` as `${TAG-alpine}` (the value of TAG, or `alpine`). We do the same
 *   and say so in a warning, since it is rarely what the author meant;
 * - any other `$` (`$1`, `$ `, a `$` at the end, `${}`) makes the value invalid.
 *
 * Beyond docker/cli, `${NAME:+text}` / `${NAME+text}` (text when set, else '') are accepted, as
 * the compose specification has them. Where docker's matching is ambiguous (an operator inside the
 * text, as in `${A?must-be-set}`, which docker/cli reads as a default for a variable named
 * `A?must`), the first operator after the name is the one that counts.
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
  /** Operators written without braces (`$TAG-alpine`), as written, in order. */
  unbracedOperators: string[];
}

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

export function interpolate(template: string, lookup: Lookup): Interpolated {
  // Fast path: most values contain no `$` at all.
  if (!template.includes('$')) return { value: template, unset: [], unbracedOperators: [] };
  return new Scanner(template, lookup).run();
}

interface Expression {
  name: string;
  /** '' for a plain reference; otherwise `-`, `?` or `+`, with `colon` for the `:` forms. */
  op: '' | '-' | '?' | '+';
  colon: boolean;
  arg: string;
  /** Index just after the expression. */
  end: number;
}

class Scanner {
  private readonly unset: string[] = [];
  private readonly unbraced: string[] = [];

  constructor(
    private readonly src: string,
    private readonly lookup: Lookup,
  ) {}

  run(): Interpolated {
    let out = '';
    let i = 0;
    while (i < this.src.length) {
      const dollar = this.src.indexOf('$', i);
      if (dollar < 0) {
        out += this.src.slice(i);
        break;
      }
      out += this.src.slice(i, dollar);
      const next = this.src[dollar + 1];
      if (next === '$') {
        out += '$';
        i = dollar + 2;
        continue;
      }
      const e = next === '{' ? this.braced(dollar + 2) : next !== undefined && NAME_START.test(next) ? this.unbracedAt(dollar + 1) : null;
      if (e === null) throw this.invalid();
      if (next !== '{' && e.op !== '') this.unbraced.push(this.src.slice(dollar, e.end));
      out += this.evaluate(e);
      i = e.end;
    }
    return { value: out, unset: this.unset, unbracedOperators: this.unbraced };
  }

  private invalid(): InterpolationError {
    return new InterpolationError(`invalid interpolation format in ${JSON.stringify(this.src)}: you may need to escape any $ with another $`);
  }

  private nameEnd(start: number): number {
    let end = start;
    while (end < this.src.length && NAME_CHAR.test(this.src[end] ?? '')) end++;
    return end;
  }

  /** `pos` is just after `${`; null when what follows is not an expression. */
  private braced(pos: number): Expression | null {
    if (!NAME_START.test(this.src[pos] ?? '')) return null;
    const nameEnd = this.nameEnd(pos);
    const name = this.src.slice(pos, nameEnd);
    if (this.src[nameEnd] === '}') return { name, op: '', colon: false, arg: '', end: nameEnd + 1 };
    const colon = this.src[nameEnd] === ':';
    const op = this.src[colon ? nameEnd + 1 : nameEnd];
    if (op !== '-' && op !== '?' && op !== '+') return null;
    const argStart = colon ? nameEnd + 2 : nameEnd + 1;
    const close = this.src.indexOf('}', argStart);
    if (close < 0) return null;
    return { name, op, colon, arg: this.src.slice(argStart, close), end: close + 1 };
  }

  /** `pos` is at the first letter of the name after a bare `$`. */
  private unbracedAt(pos: number): Expression {
    const nameEnd = this.nameEnd(pos);
    const name = this.src.slice(pos, nameEnd);
    const colon = this.src[nameEnd] === ':';
    const op = this.src[colon ? nameEnd + 1 : nameEnd];
    if (op !== '-' && op !== '?') return { name, op: '', colon: false, arg: '', end: nameEnd };
    const argStart = colon ? nameEnd + 2 : nameEnd + 1;
    const close = this.src.indexOf('}', argStart);
    const end = close < 0 ? this.src.length : close;
    return { name, op, colon, arg: this.src.slice(argStart, end), end };
  }

  private evaluate(e: Expression): string {
    const value = this.lookup(e.name);
    // With the colon, an empty value counts as missing (POSIX shell semantics).
    const present = value !== undefined && !(e.colon && value === '');
    switch (e.op) {
      case '':
        if (value !== undefined) return value;
        if (!this.unset.includes(e.name)) this.unset.push(e.name);
        return '';
      case '-':
        return present ? value : e.arg;
      case '+':
        return present ? e.arg : '';
      case '?':
        if (present) return value;
        throw new InterpolationError(`required variable ${e.name} is missing a value${e.arg === '' ? '' : `: ${e.arg}`}`);
    }
  }
}

export interface TreeInterpolation {
  /** `path: message (line N)` for each value that could not be interpolated. */
  errors: { path: string; message: string; line: number }[];
  /** Unset variables across the whole tree, each once, in order of first use. */
  unset: string[];
  /** Operators written without braces, with where: `services.web.image: $TAG-alpine (line 3)`. */
  unbracedOperators: { path: string; text: string; line: number }[];
}

/**
 * Interpolates every string value of the tree in place (keys are left alone,
 * as in compose). Numbers and booleans are not templates.
 */
export function interpolateTree(root: TreeNode, lookup: Lookup, rootPath: string): TreeInterpolation {
  const result: TreeInterpolation = { errors: [], unset: [], unbracedOperators: [] };
  const visit = (node: TreeNode, path: string): void => {
    if (node.kind === 'map') {
      for (const e of node.entries) visit(e.value, path === '' ? e.key : `${path}.${e.key}`);
    } else if (node.kind === 'seq') {
      node.items.forEach((item, i) => visit(item, `${path}[${i}]`));
    } else if (typeof node.value === 'string') {
      const at = path === '' ? '(top level)' : path;
      try {
        const out = interpolate(node.value, lookup);
        node.value = out.value;
        node.text = out.value;
        for (const name of out.unset) if (!result.unset.includes(name)) result.unset.push(name);
        for (const text of out.unbracedOperators) result.unbracedOperators.push({ path: at, text, line: node.line });
      } catch (e) {
        if (!(e instanceof InterpolationError)) throw e;
        result.errors.push({ path: at, message: e.message, line: node.line });
      }
    }
  };
  visit(root, rootPath);
  return result;
}

export function unsetVariableWarning(name: string): string {
  return `The "${name}" variable is not set. Defaulting to a blank string.`;
}

/** Docker reads `$TAG-alpine` as `${TAG-alpine}`; the author most likely meant `${TAG}-alpine`. */
export function unbracedOperatorWarning(u: { path: string; text: string; line: number }): string {
  const m = /^\$([A-Za-z_][A-Za-z0-9_]*)(:?[-?])(.*)$/s.exec(u.text);
  const name = m?.[1] ?? '';
  const rest = `${m?.[2] ?? ''}${m?.[3] ?? ''}`;
  return `${u.path}: ${u.text} is read as \${${name}${rest}}, as docker does (line ${u.line}); write \${${name}}${rest} for the value followed by ${JSON.stringify(rest)}`;
}
