/**
 * `WWW-Authenticate` challenges of a registry (RFC 7235 syntax, as the
 * distribution spec's token flow uses it):
 *
 *   Bearer realm="https://auth.example/token",service="registry.example",scope="repository:app:pull"
 *   Basic realm="Registry Realm"
 *
 * A header may hold several challenges; each is a scheme and its parameters.
 */
export interface Challenge {
  /** Lower case: `bearer`, `basic`. */
  scheme: string;
  params: Record<string, string>;
}

const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/y;

export function parseChallenges(header: string | null): Challenge[] {
  if (header === null) return [];
  const out: Challenge[] = [];
  let i = 0;
  const skip = (chars: string) => {
    while (i < header.length && chars.includes(header[i] as string)) i++;
  };
  const token = (): string | null => {
    TOKEN.lastIndex = i;
    const m = TOKEN.exec(header);
    if (!m) return null;
    i = TOKEN.lastIndex;
    return m[0];
  };
  while (i < header.length) {
    skip(' \t,');
    const scheme = token();
    if (scheme === null) break;
    const c: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(c);
    // Parameters until the next token that is not followed by '=' (a new scheme).
    for (;;) {
      skip(' \t,');
      const start = i;
      const name = token();
      if (name === null) break;
      skip(' \t');
      if (header[i] !== '=') {
        i = start;
        break;
      }
      i++;
      skip(' \t');
      c.params[name.toLowerCase()] = header[i] === '"' ? quoted() : bare();
    }
  }
  return out;

  /** An unquoted value; lenient (servers send URLs bare), it runs to the next comma or space. */
  function bare(): string {
    const start = i;
    while (i < header!.length && !', \t'.includes(header![i] as string)) i++;
    return header!.slice(start, i);
  }

  function quoted(): string {
    let s = '';
    i++; // opening quote
    while (i < header!.length && header![i] !== '"') {
      if (header![i] === '\\' && i + 1 < header!.length) i++;
      s += header![i];
      i++;
    }
    i++; // closing quote
    return s;
  }
}
