/** A small argv parser for the daemons and the CLI: `--name value`, `--name=value`, `--flag`, positionals. */
import { InvalidArgumentError } from './errors';

export interface Parsed {
  flags: Map<string, string | true>;
  positionals: string[];
}

/** Separates the values of a repeatable flag given more than once (see flagList). */
const LIST_SEP = '\0';

/**
 * `valued` lists the flags that take a value; `booleans` those that do not. A valued flag given
 * twice keeps the last value, unless it is in `repeatable`: then flagList() returns every value.
 */
/**
 * `restAfter`: called with the positionals so far; when it says true, everything after is
 * positional (`service create IMAGE sh -c ...`: the container's command keeps its own flags).
 * `aliases`: short names stored under their long one (`-e` as `--env`), so that values given both
 * ways keep the order they were given in.
 */
export function parseFlags(argv: string[], valued: string[], booleans: string[], repeatable: string[] = [], restAfter: (positionals: string[]) => boolean = () => false, aliases: Readonly<Record<string, string>> = {}): Parsed {
  const flags = new Map<string, string | true>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    // Short boolean flags together, as Docker takes them: `-it` is `-i -t`.
    if (/^-[a-zA-Z]{2,}$/.test(a) && [...a.slice(1)].every((c) => booleans.includes(c))) {
      for (const c of a.slice(1)) flags.set(c, true);
      continue;
    }
    if (a.startsWith('--') || (a.startsWith('-') && a.length === 2)) {
      const eq = a.indexOf('=');
      const given = (eq > 0 ? a.slice(0, eq) : a).replace(/^--?/, '');
      const name = aliases[given] ?? given;
      if (valued.includes(name)) {
        const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
        if (v === undefined) throw new InvalidArgumentError(`flag --${name} needs a value`);
        const prev = flags.get(name);
        flags.set(name, repeatable.includes(name) && typeof prev === 'string' ? `${prev}${LIST_SEP}${v}` : v);
      } else if (booleans.includes(name)) {
        const v = eq > 0 ? a.slice(eq + 1) : 'true';
        if (v !== 'true' && v !== 'false') throw new InvalidArgumentError(`flag --${name} is true or false, not ${v}`);
        if (v === 'true') flags.set(name, true);
        else flags.delete(name);
      } else {
        throw new InvalidArgumentError(`unknown flag: ${a}`);
      }
      continue;
    }
    positionals.push(a);
    if (restAfter(positionals)) {
      positionals.push(...argv.slice(i + 1));
      break;
    }
  }
  return { flags, positionals };
}

export function flagString(p: Parsed, name: string): string | null {
  const v = p.flags.get(name);
  return typeof v === 'string' ? v : null;
}

/** Every value of a repeatable flag, in order (empty when absent). */
export function flagList(p: Parsed, name: string): string[] {
  const v = p.flags.get(name);
  return typeof v === 'string' ? v.split(LIST_SEP) : [];
}
