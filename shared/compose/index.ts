/**
 * The compose stack-file loader: YAML text in, the validated StackDeployment
 * out (ServiceSpecs, their networks, the stack's secrets and configs with
 * their bytes).
 *
 * Order matters and follows compose: parse (with anchors and merge keys) →
 * interpolate every string value → validate and convert. Any problem in any
 * step throws one ComposeError listing them; nothing partial is returned.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ComposeError } from '../errors';
import type { StackDeployment } from '../types';
import { convertStack } from './convert';
import { parseDotenv } from './dotenv';
import type { Lookup } from './interpolate';
import { interpolateTree, unbracedOperatorWarning, unsetVariableWarning } from './interpolate';
import { parseYaml } from './parse';
import { Problems } from './problems';

export { NAMESPACE_LABEL, DEFAULT_STOP_GRACE_PERIOD_MS, DEFAULT_NETWORK } from './convert';

export interface LoadOptions {
  /** Stack name chosen by the user; null to use the file's `name:` or its folder's name. */
  name: string | null;
  /** Variables for interpolation, searched before the `.env` file (usually process.env). */
  env: Record<string, string | undefined>;
}

export interface LoadTextOptions extends LoadOptions {
  /** Shown in errors (ComposeError.file). */
  filename: string;
  /** Folder of the stack file: its name is the stack name of last resort, and relative paths (binds, secret files, env_file) are relative to it. */
  dir: string;
  /** Variables of the `.env` file beside the stack file. */
  dotenv: Record<string, string>;
}

export function loadStackFile(path: string, opts: LoadOptions): StackDeployment {
  const text = readText(path);
  if (text === null) throw new ComposeError(`cannot read stack file ${path}: no such file`, path, null);
  const dir = dirname(resolve(path));
  const dotenvPath = join(dir, '.env');
  const dotenvText = readText(dotenvPath);
  const dotenv = dotenvText === null ? {} : parseDotenv(dotenvText, dotenvPath);
  return loadStackText(text, { ...opts, filename: path, dir, dotenv });
}

export function loadStackText(text: string, opts: LoadTextOptions): StackDeployment {
  const parsed = parseYaml(text);
  const problems = new Problems();
  if (!parsed.ok) {
    for (const p of parsed.problems) problems.add('', p.message, p.line);
    throw problems.toError(opts.filename);
  }

  const lookup = makeLookup(opts.env, opts.dotenv);
  const warnings: string[] = [];
  if (parsed.root !== null) {
    const interpolation = interpolateTree(parsed.root, lookup, '');
    for (const e of interpolation.errors) problems.add(e.path, e.message, e.line);
    // Validating values that failed to interpolate would only add confusing follow-up errors.
    if (!problems.empty) throw problems.toError(opts.filename);
    warnings.push(...interpolation.unset.map(unsetVariableWarning));
    warnings.push(...interpolation.unbracedOperators.map(unbracedOperatorWarning));
  }

  const stack = convertStack(parsed.root, { nameOverride: opts.name, dir: opts.dir, lookup }, problems);
  if (!problems.empty || stack === null) throw problems.toError(opts.filename);

  if (stack.ignoredServiceOptions.length > 0) {
    warnings.push(`Ignoring unsupported options: ${stack.ignoredServiceOptions.join(', ')}`);
  }
  if (stack.ignoredNetworkOptions.length > 0) {
    warnings.push(`Ignoring unsupported network options: ${stack.ignoredNetworkOptions.join(', ')}`);
  }
  if (stack.ignoredTopLevelKeys.length > 0) {
    warnings.push(`Ignoring unsupported top-level keys: ${stack.ignoredTopLevelKeys.join(', ')}`);
  }
  warnings.push(...stack.warnings);
  return { name: stack.name, services: stack.services, ...(stack.builds.length > 0 ? { builds: stack.builds } : {}), networks: stack.networks, secrets: stack.secrets, configs: stack.configs, warnings };
}

/**
 * The process environment wins over `.env`, as in compose. Own properties
 * only: a variable named `constructor` must not find Object.prototype's.
 */
function makeLookup(env: Record<string, string | undefined>, dotenv: Record<string, string>): Lookup {
  return (name) => {
    if (Object.hasOwn(env, name) && env[name] !== undefined) return env[name];
    if (Object.hasOwn(dotenv, name)) return dotenv[name];
    return undefined;
  };
}

/** null when the file does not exist; other read errors (permissions, a folder) are reported. */
function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') return null;
    throw new ComposeError(`cannot read ${path}: ${err.message}`, path, null);
  }
}
