/**
 * Readers for COPY and ADD: sources and a destination (the last argument), in JSON or whitespace
 * form, heredoc sources (`COPY <<EOF /etc/motd`) turned into inline files, and the flags tsswarm
 * honours. `--from` is kept as written: whether it names a stage or an image is stages.ts's call.
 */
import { Problem } from './diagnostics';
import type { AddInstruction, CopyInstruction, Heredoc } from './dockerfile-types';
import { type FlagValues, readFlags } from './dockerfile-flags';
import { parseJsonArray, splitWhitespace } from './dockerfile-words';
import { heredocWord } from './heredoc';
import type { ReaderInput } from './read-instruction';
import { expandWord } from './shell-words';

interface FileArgs {
  sources: string[];
  inline: Heredoc[];
  dest: string;
  chown: string | null;
  chmod: string | null;
  link: boolean;
}

function readFileArgs(keyword: 'COPY' | 'ADD', input: ReaderInput, flags: FlagValues): FileArgs {
  const json = parseJsonArray(input.rest);
  const args = json ?? splitWhitespace(input.rest);
  const dest = args[args.length - 1];
  if (dest === undefined || args.length < 2) throw new Problem(`${keyword} requires at least two arguments: sources and a destination`);
  if (json === null && heredocWord(dest) !== null) throw new Problem(`${keyword} cannot accept a heredoc as a destination`);
  const sources: string[] = [];
  const inline: Heredoc[] = [];
  for (const src of args.slice(0, -1)) {
    const word = json === null ? heredocWord(src) : null;
    const doc = word === null ? undefined : input.heredocs.find((h) => h.name === word.name);
    if (doc !== undefined) inline.push(doc);
    else sources.push(src);
  }
  return { sources, inline, dest, chown: flags.get('chown') || null, chmod: flags.get('chmod') || null, link: flags.get('link') === 'true' };
}

export function readCopy(input: ReaderInput): CopyInstruction {
  const flags = readFlags('COPY', input.flags, {
    accepted: { from: 'string', chown: 'string', chmod: 'string', link: 'bool' },
    refused: { exclude: 'not implemented yet; use .dockerignore', parents: 'not implemented yet' },
  });
  const from = flags.get('from') || null;
  if (from !== null && expandWord(from, {}, input.escape) !== from) {
    throw new Problem('variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround');
  }
  return { ...input.base, keyword: 'COPY', ...readFileArgs('COPY', input, flags), from };
}

export function readAdd(input: ReaderInput): AddInstruction {
  const flags = readFlags('ADD', input.flags, {
    accepted: { chown: 'string', chmod: 'string', link: 'bool' },
    refused: {
      checksum: 'not implemented yet',
      'keep-git-dir': 'git sources are not implemented yet',
      unpack: 'not implemented yet',
      exclude: 'not implemented yet; use .dockerignore',
    },
  });
  return { ...input.base, keyword: 'ADD', ...readFileArgs('ADD', input, flags) };
}
