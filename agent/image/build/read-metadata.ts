/**
 * Readers for the instructions that only set image metadata or declare names: FROM, ARG, ENV,
 * LABEL, MAINTAINER, EXPOSE, VOLUME, WORKDIR, USER, STOPSIGNAL. Each checks the argument count
 * and shape Docker checks, and leaves expansion to the executor (expand-instruction.ts).
 */
import { Problem } from './diagnostics';
import type {
  ArgInstruction,
  EnvInstruction,
  ExposeInstruction,
  FromInstruction,
  KeyValue,
  LabelInstruction,
  MaintainerInstruction,
  StopSignalInstruction,
  UserInstruction,
  VolumeInstruction,
  WorkdirInstruction,
} from './dockerfile-types';
import { readFlags } from './dockerfile-flags';
import { parseJsonArray, parseWords, splitWhitespace } from './dockerfile-words';
import type { ReaderInput } from './read-instruction';

const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

export function readFrom(input: ReaderInput): FromInstruction {
  const flags = readFlags('FROM', input.flags, { accepted: { platform: 'string' } });
  const words = splitWhitespace(input.rest);
  const image = words[0];
  if (image === undefined) throw new Problem('FROM requires an image');
  let stageName: string | null = null;
  if (words.length === 3 && words[1]?.toLowerCase() === 'as') {
    stageName = (words[2] as string).toLowerCase();
    if (!STAGE_NAME.test(stageName)) {
      throw new Problem(`invalid name for build stage: "${words[2]}", name can't start with a number or contain symbols`);
    }
  } else if (words.length !== 1) {
    throw new Problem('FROM requires either one or three arguments: FROM image [AS name]');
  }
  return { ...input.base, keyword: 'FROM', image, stageName, platform: flags.get('platform') || null };
}

export function readArg(input: ReaderInput): ArgInstruction {
  readFlags('ARG', input.flags, { accepted: {} });
  const words = parseWords(input.rest, input.escape);
  if (words.length === 0) throw new Problem('ARG requires at least one argument');
  const args = words.map((w) => {
    const eq = w.indexOf('=');
    const name = eq < 0 ? w : w.slice(0, eq);
    if (name === '') throw new Problem('ARG names can not be blank');
    return { name, defaultValue: eq < 0 ? null : w.slice(eq + 1) };
  });
  return { ...input.base, keyword: 'ARG', args };
}

/** ENV and LABEL: `k=v k2="v 2"`, or the old form `k v w` (one pair, the rest of the line the value). */
function readPairs(keyword: 'ENV' | 'LABEL', input: ReaderInput): KeyValue[] {
  readFlags(keyword, input.flags, { accepted: {} });
  const words = parseWords(input.rest, input.escape);
  const first = words[0];
  if (first === undefined) throw new Problem(`${keyword} requires at least one argument`);
  if (!first.includes('=')) {
    const m = /^(\S+)[\t\v\f\r ]+([\s\S]+)$/.exec(input.rest);
    if (m === null) throw new Problem(`${keyword} must have two arguments`);
    return [{ key: m[1] as string, value: m[2] as string }];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) throw new Problem(`Syntax error - can't find = in "${w}". Must be of the form: name=value`);
    if (eq === 0) throw new Problem(`${keyword} names can not be blank`);
    return { key: w.slice(0, eq), value: w.slice(eq + 1) };
  });
}

export function readEnv(input: ReaderInput): EnvInstruction {
  return { ...input.base, keyword: 'ENV', pairs: readPairs('ENV', input) };
}

export function readLabel(input: ReaderInput): LabelInstruction {
  return { ...input.base, keyword: 'LABEL', pairs: readPairs('LABEL', input) };
}

export function readMaintainer(input: ReaderInput): MaintainerInstruction {
  readFlags('MAINTAINER', input.flags, { accepted: {} });
  if (input.rest === '') throw new Problem('MAINTAINER requires exactly one argument');
  input.warn('MAINTAINER is deprecated; the image author is set from it, a LABEL is the way to say it now');
  return { ...input.base, keyword: 'MAINTAINER', author: input.rest };
}

export function readExpose(input: ReaderInput): ExposeInstruction {
  readFlags('EXPOSE', input.flags, { accepted: {} });
  const ports = splitWhitespace(input.rest);
  if (ports.length === 0) throw new Problem('EXPOSE requires at least one argument');
  return { ...input.base, keyword: 'EXPOSE', ports };
}

export function readVolume(input: ReaderInput): VolumeInstruction {
  readFlags('VOLUME', input.flags, { accepted: {} });
  const paths = (parseJsonArray(input.rest) ?? splitWhitespace(input.rest)).map((p) => p.trim());
  if (paths.length === 0) throw new Problem('VOLUME requires at least one argument');
  if (paths.includes('')) throw new Problem('VOLUME specified can not be an empty string');
  return { ...input.base, keyword: 'VOLUME', paths };
}

/** WORKDIR, USER and STOPSIGNAL take the rest of the line as one value, spaces included. */
function readOne(keyword: string, input: ReaderInput): string {
  readFlags(keyword, input.flags, { accepted: {} });
  if (input.rest === '') throw new Problem(`${keyword} requires exactly one argument`);
  return input.rest;
}

export function readWorkdir(input: ReaderInput): WorkdirInstruction {
  return { ...input.base, keyword: 'WORKDIR', path: readOne('WORKDIR', input) };
}

export function readUser(input: ReaderInput): UserInstruction {
  return { ...input.base, keyword: 'USER', user: readOne('USER', input) };
}

export function readStopSignal(input: ReaderInput): StopSignalInstruction {
  return { ...input.base, keyword: 'STOPSIGNAL', signal: readOne('STOPSIGNAL', input) };
}
