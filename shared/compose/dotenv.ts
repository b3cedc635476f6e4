/**
 * The `.env` file beside a stack file: `KEY=VALUE` lines, `#` comments,
 * optional `export ` prefix, values optionally in single quotes (literal) or
 * double quotes (with `\n`, `\t`, `\"`, `\\` escapes). Values are not
 * interpolated.
 */
import { ComposeError } from '../errors';

const KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const DOUBLE_QUOTE_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\', $: '$' };

export function parseDotenv(text: string, filename: string): Record<string, string> {
  // No prototype: a key such as `__proto__` must be stored, not change the object.
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const lineNo = index + 1;
    const fail = (why: string): never => {
      throw new ComposeError(`${filename}: ${why} (line ${lineNo})`, filename, lineNo);
    };
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    if (/^export\s/.test(line)) line = line.slice('export'.length).trimStart();
    const eq = line.indexOf('=');
    if (eq < 0) fail(`expected KEY=VALUE, got ${JSON.stringify(line)}`);
    const key = line.slice(0, eq).trim();
    if (!KEY.test(key)) fail(`invalid variable name ${JSON.stringify(key)}`);
    const value = parseValue(line.slice(eq + 1).trimStart(), fail);
    out[key] = value;
  });
  return out;
}

function parseValue(rest: string, fail: (why: string) => never): string {
  const quote = rest[0];
  if (quote !== "'" && quote !== '"') {
    // An unquoted value ends at a comment, which needs whitespace before `#` so `a#b` stays a value.
    const comment = rest.search(/\s#/);
    return (comment < 0 ? rest : rest.slice(0, comment)).trimEnd();
  }
  let value = '';
  let i = 1;
  for (; i < rest.length; i++) {
    const c = rest[i] ?? '';
    if (c === quote) break;
    if (quote === '"' && c === '\\' && i + 1 < rest.length) {
      const next = rest[i + 1] ?? '';
      value += DOUBLE_QUOTE_ESCAPES[next] ?? `\\${next}`;
      i++;
      continue;
    }
    value += c;
  }
  if (i >= rest.length) fail(`unterminated ${quote === '"' ? 'double' : 'single'}-quoted value`);
  const after = rest.slice(i + 1).trim();
  if (after !== '' && !after.startsWith('#')) fail(`unexpected text after the quoted value: ${JSON.stringify(after)}`);
  return value;
}
