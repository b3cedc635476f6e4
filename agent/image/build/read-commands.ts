/**
 * Readers for the instructions that hold a command: RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK. A
 * JSON array of strings is exec form; any other text is shell form and kept as one script for the
 * shell to read (the builder does not expand it).
 */
import { parseDurationMs } from '../../../shared/compose/units';
import { Problem } from './diagnostics';
import type {
  CmdInstruction,
  CommandLine,
  EntrypointInstruction,
  HealthcheckInstruction,
  RunInstruction,
  ShellInstruction,
} from './dockerfile-types';
import { readFlags } from './dockerfile-flags';
import { parseJsonArray } from './dockerfile-words';
import type { ReaderInput } from './read-instruction';

function commandLine(text: string): CommandLine | null {
  const args = parseJsonArray(text);
  if (args !== null) return { form: 'exec', args };
  return text === '' ? null : { form: 'shell', script: text };
}

const NETWORKS = ['default', 'none', 'host'] as const;

export function readRun(input: ReaderInput): RunInstruction {
  const flags = readFlags('RUN', input.flags, {
    accepted: { network: 'string' },
    refused: {
      mount: 'build mounts (cache, secret, ssh, bind) are not implemented yet; COPY what the step needs',
      security: 'RUN runs unprivileged here',
      device: 'devices cannot be given to build steps',
    },
  });
  const network = flags.get('network') ?? 'default';
  const known = NETWORKS.find((n) => n === network);
  if (known === undefined) throw new Problem(`invalid network mode "${network}" (RUN --network takes default, none or host)`);
  const command = commandLine(input.rest);
  if (command === null) throw new Problem('RUN requires at least one argument');
  return { ...input.base, keyword: 'RUN', command, heredocs: input.heredocs, network: known };
}

export function readCmd(input: ReaderInput): CmdInstruction {
  readFlags('CMD', input.flags, { accepted: {} });
  const command = commandLine(input.rest);
  if (command === null) throw new Problem('CMD requires at least one argument');
  return { ...input.base, keyword: 'CMD', command };
}

export function readEntrypoint(input: ReaderInput): EntrypointInstruction {
  readFlags('ENTRYPOINT', input.flags, { accepted: {} });
  const command = commandLine(input.rest);
  if (command === null) throw new Problem('ENTRYPOINT requires at least one argument');
  return { ...input.base, keyword: 'ENTRYPOINT', command };
}

export function readShell(input: ReaderInput): ShellInstruction {
  readFlags('SHELL', input.flags, { accepted: {} });
  const shell = parseJsonArray(input.rest);
  if (shell === null) {
    if (input.rest === '') throw new Problem('SHELL requires at least one argument');
    throw new Problem(`SHELL requires the arguments to be in JSON form, e.g. SHELL ["/bin/sh", "-c"]`);
  }
  if (shell.length === 0) throw new Problem('SHELL requires at least one argument');
  return { ...input.base, keyword: 'SHELL', shell };
}

/** A Go duration (`30s`, `1m30s`) in ms; 0 and absent both mean Docker's default (null). */
function duration(name: string, value: string | undefined): number | null {
  if (value === undefined || value === '') return null;
  const ms = parseDurationMs(value);
  if (ms === null) throw new Problem(`HEALTHCHECK --${name}: time: invalid duration "${value}"`);
  if (ms === 0 && /[1-9]/.test(value)) throw new Problem(`HEALTHCHECK --${name} cannot be less than 1ms`);
  return ms === 0 ? null : ms;
}

export function readHealthcheck(input: ReaderInput): HealthcheckInstruction {
  const m = /^(\S+)\s*([\s\S]*)$/.exec(input.rest);
  if (m === null) throw new Problem('HEALTHCHECK requires at least one argument');
  const type = (m[1] as string).toUpperCase();
  const rest = m[2] ?? '';
  const none = { intervalMs: null, timeoutMs: null, startPeriodMs: null, startIntervalMs: null, retries: null };
  if (type === 'NONE') {
    // Docker reads no flags for NONE, so it ignores any that were written.
    if (rest !== '') throw new Problem('HEALTHCHECK NONE takes no arguments');
    return { ...input.base, keyword: 'HEALTHCHECK', health: { test: ['NONE'], ...none } };
  }
  if (type !== 'CMD') throw new Problem(`Unknown type "${m[1]}" in HEALTHCHECK (try CMD)`);
  const flags = readFlags('HEALTHCHECK', input.flags, {
    accepted: { interval: 'string', timeout: 'string', 'start-period': 'string', 'start-interval': 'string', retries: 'string' },
  });
  const command = commandLine(rest);
  if (command === null || (command.form === 'exec' && command.args.length === 0)) {
    throw new Problem('Missing command after HEALTHCHECK CMD');
  }
  const retriesText = flags.get('retries');
  let retries: number | null = null;
  if (retriesText !== undefined && retriesText !== '') {
    if (!/^[+-]?\d+$/.test(retriesText)) throw new Problem(`HEALTHCHECK --retries: invalid number "${retriesText}"`);
    const n = Number(retriesText);
    if (n < 0) throw new Problem(`--retries cannot be negative (${n})`);
    retries = n === 0 ? null : n;
  }
  return {
    ...input.base,
    keyword: 'HEALTHCHECK',
    health: {
      test: command.form === 'exec' ? ['CMD', ...command.args] : ['CMD-SHELL', command.script],
      intervalMs: duration('interval', flags.get('interval')),
      timeoutMs: duration('timeout', flags.get('timeout')),
      startPeriodMs: duration('start-period', flags.get('start-period')),
      startIntervalMs: duration('start-interval', flags.get('start-interval')),
      retries,
    },
  };
}
