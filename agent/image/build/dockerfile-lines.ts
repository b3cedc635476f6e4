/**
 * Dockerfile text → logical lines, the first of Docker's two parsing passes: parser directives at
 * the top (`# syntax=`, `# escape=`, `# check=`), comments and blank lines skipped, lines ending in
 * the escape character joined to the next (comment and blank lines inside a continued instruction
 * dropped, as Docker does), and heredoc bodies collected after the line that opens them. Each
 * logical line remembers the file line it starts on, which is what every error reports.
 */
import { DockerfileError } from './diagnostics';
import type { EscapeChar, Heredoc } from './dockerfile-types';
import { heredocHeaders } from './heredoc';

export interface Directive {
  readonly name: 'syntax' | 'escape' | 'check';
  readonly value: string;
  readonly line: number;
}

export interface LogicalLine {
  /** 1-based line the instruction starts on. */
  readonly line: number;
  /** 1-based last line, heredoc bodies included. */
  readonly endLine: number;
  /** The joined instruction text (escape-newlines removed), leading whitespace trimmed. */
  readonly text: string;
  readonly heredocs: readonly Heredoc[];
  /** A blank line sat inside the continuation (Docker warns: it will become an error). */
  readonly emptyContinuation: boolean;
}

export interface LineReading {
  readonly escape: EscapeChar;
  readonly directives: readonly Directive[];
  readonly lines: readonly LogicalLine[];
}

const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const DIRECTIVE_NAMES = new Set(['syntax', 'escape', 'check']);

/** Reads the directives; they end at the first line that is not one (a blank line included). */
function readDirectives(raw: readonly string[], file: string): Directive[] {
  const out: Directive[] = [];
  for (let i = 0; i < raw.length; i++) {
    const m = DIRECTIVE.exec((raw[i] as string).trimStart());
    const name = m?.[1]?.toLowerCase();
    if (m === null || name === undefined || !DIRECTIVE_NAMES.has(name)) break;
    if (out.some((d) => d.name === name)) throw new DockerfileError(file, i + 1, `only one ${name} parser directive can be used`);
    const value = m[2] ?? '';
    if (name === 'escape' && value !== '\\' && value !== '`') {
      throw new DockerfileError(file, i + 1, `invalid escape token '${value}' does not match \` or \\`);
    }
    out.push({ name: name as Directive['name'], value, line: i + 1 });
  }
  return out;
}

const isComment = (line: string) => line.trimStart().startsWith('#');

export function readLogicalLines(text: string, file: string): LineReading {
  const raw = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (raw[raw.length - 1] === '') raw.pop(); // the newline that ends the last line starts no other
  const directives = readDirectives(raw, file);
  const escape: EscapeChar = directives.find((d) => d.name === 'escape')?.value === '`' ? '`' : '\\';
  const e = escape === '\\' ? '\\\\' : '`';
  // An escape character at the end of a line, unless it is itself escaped (`\\` ends no line).
  const continuation = new RegExp(`(?:([^${e}])${e}|^${e})[ \\t]*$`);
  const trimContinuation = (line: string): [string, boolean] =>
    continuation.test(line) ? [line.replace(continuation, '$1'), false] : [line, true];

  const lines: LogicalLine[] = [];
  let i = directives.length;
  while (i < raw.length) {
    const first = (raw[i] as string).trimStart();
    const line = ++i;
    if (first.startsWith('#')) continue;
    let [joined, ended] = trimContinuation(first);
    if (ended && joined.trim() === '') continue;
    let emptyContinuation = false;
    while (!ended && i < raw.length) {
      const next = raw[i++] as string;
      if (isComment(next)) continue;
      if (next.trim() === '') {
        emptyContinuation = true;
        continue;
      }
      const [part, end] = trimContinuation(next);
      joined += part;
      ended = end;
    }

    const heredocs: Heredoc[] = [];
    for (const h of heredocHeaders(joined, escape)) {
      let body = '';
      let terminated = false;
      while (i < raw.length) {
        const bodyLine = raw[i++] as string;
        if ((h.chomp ? bodyLine.replace(/^\t+/, '') : bodyLine) === h.name) {
          terminated = true;
          break;
        }
        body += `${bodyLine}\n`;
      }
      if (!terminated) throw new DockerfileError(file, line, `unterminated heredoc ${h.name}`);
      heredocs.push({ ...h, content: h.chomp ? body.replace(/^\t+/gm, '') : body });
    }
    lines.push({ line, endLine: i, text: joined.trimEnd(), heredocs, emptyContinuation });
  }
  return { escape, directives, lines };
}
