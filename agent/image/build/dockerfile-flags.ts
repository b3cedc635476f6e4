/**
 * The `--name=value` flags an instruction accepts, read with Docker's rules: a string flag needs a
 * value, a boolean one may have none (`--link`) or `=true`/`=false`, a flag given twice is an error,
 * and an unknown one too. Flags Docker has but tsswarm cannot honour yet (`RUN --mount`) are refused
 * by name so the user learns it is a gap here, not a typo.
 */
import { Problem } from './diagnostics';

export type FlagKind = 'string' | 'bool';

export interface FlagRules {
  readonly accepted: Readonly<Record<string, FlagKind>>;
  /** Flag name → why it is refused. */
  readonly refused?: Readonly<Record<string, string>>;
}

/** Flag name → value (`'true'`/`'false'` for booleans); flags not given are absent. */
export type FlagValues = ReadonlyMap<string, string>;

export function readFlags(keyword: string, words: readonly string[], rules: FlagRules): FlagValues {
  const values = new Map<string, string>();
  for (const word of words) {
    if (!word.startsWith('--')) throw new Problem(`arg should start with -- : ${word}`);
    const eq = word.indexOf('=');
    const name = (eq < 0 ? word : word.slice(0, eq)).slice(2);
    const value = eq < 0 ? null : word.slice(eq + 1);
    const refusal = rules.refused?.[name];
    if (refusal !== undefined) throw new Problem(`${keyword} --${name} is not supported: ${refusal}`);
    const kind = Object.hasOwn(rules.accepted, name) ? rules.accepted[name] : undefined;
    if (kind === undefined) {
      const known = Object.keys(rules.accepted).map((n) => `--${n}`);
      throw new Problem(`unknown flag: --${name} (${keyword} takes ${known.length > 0 ? known.join(', ') : 'no flags'})`);
    }
    if (values.has(name)) throw new Problem(`duplicate flag specified: --${name}`);
    if (kind === 'string') {
      if (value === null) throw new Problem(`missing a value on flag: --${name}`);
      values.set(name, value);
    } else {
      if (value === '') throw new Problem(`missing a value on flag: --${name}`);
      const v = (value ?? 'true').toLowerCase();
      if (v !== 'true' && v !== 'false') throw new Problem(`expecting boolean value for flag --${name}, not: ${value}`);
      values.set(name, v);
    }
  }
  return values;
}
