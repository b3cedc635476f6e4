/**
 * What the instructions that change no file do to the image being built: its config (Docker's
 * field names, `config.Env`, `ExposedPorts`, `Healthcheck` in nanoseconds, ...), applied to a copy.
 * The executor (builder.ts) records each as a history entry with `empty_layer`.
 */
import type { ContainerConfigJson } from '../../../shared/oci';
import type { HealthCheck } from '../../../shared/types';
import type { CommandLine, StageInstruction } from './dockerfile-types';

/** The shell of shell-form commands when the image names none (Docker's on Linux). */
export const DEFAULT_SHELL = ['/bin/sh', '-c'];

/** Docker's PATH for an image that sets none: RUN steps and containers of `FROM scratch` get it. */
export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The shell a shell-form command runs under: the image's SHELL, else /bin/sh -c. */
export function shellOf(c: ContainerConfigJson): string[] {
  const s = c['Shell'];
  return Array.isArray(s) && s.length > 0 && s.every((x) => typeof x === 'string') ? (s as string[]) : DEFAULT_SHELL;
}

/** The argv of a RUN, CMD or ENTRYPOINT. */
export function argvOf(cmd: CommandLine, c: ContainerConfigJson): string[] {
  return cmd.form === 'exec' ? [...cmd.args] : [...shellOf(c), cmd.script];
}

/** KEY=VALUE list with `key` set, in place of an earlier value (the order of first definition kept). */
export function setEnv(env: readonly string[], key: string, value: string): string[] {
  const out = env.filter((e) => e.slice(0, e.indexOf('=') < 0 ? e.length : e.indexOf('=')) !== key);
  const at = env.findIndex((e) => e.startsWith(`${key}=`));
  const entry = `${key}=${value}`;
  if (at < 0) return [...out, entry];
  out.splice(at, 0, entry);
  return out;
}

/** The variables ENV has set, for expansion in later instructions. */
export function envVars(c: ContainerConfigJson): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of c.Env ?? []) {
    const eq = e.indexOf('=');
    if (eq > 0) out[e.slice(0, eq)] = e.slice(eq + 1);
  }
  return out;
}

/** `WORKDIR rel` is relative to the one before; Docker cleans the path. */
export function joinWorkdir(current: string | undefined, path: string): string {
  const base = path.startsWith('/') ? '' : current || '/';
  const parts: string[] = [];
  for (const p of `${base}/${path}`.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') parts.pop();
    else parts.push(p);
  }
  return `/${parts.join('/')}`;
}

function healthcheckJson(h: HealthCheck): Record<string, unknown> {
  const ns = (ms: number | null) => (ms === null ? undefined : ms * 1e6);
  const out: Record<string, unknown> = { Test: h.test };
  if (h.intervalMs !== null) out['Interval'] = ns(h.intervalMs);
  if (h.timeoutMs !== null) out['Timeout'] = ns(h.timeoutMs);
  if (h.startPeriodMs !== null) out['StartPeriod'] = ns(h.startPeriodMs);
  if (h.startIntervalMs !== null) out['StartInterval'] = ns(h.startIntervalMs);
  if (h.retries !== null) out['Retries'] = h.retries;
  return out;
}

/**
 * The config after one config-only instruction (expanded already), or null for one that changes
 * files or is not a config instruction (RUN, COPY, ADD, ARG: the executor's).
 */
export function applyConfig(c: ContainerConfigJson, ins: StageInstruction, cmdSetInStage = false): ContainerConfigJson | null {
  switch (ins.keyword) {
    case 'ENV': {
      let env = [...(c.Env ?? [])];
      for (const p of ins.pairs) env = setEnv(env, p.key, p.value);
      return { ...c, Env: env };
    }
    case 'LABEL': {
      const labels = { ...((c['Labels'] as Record<string, string> | undefined) ?? {}) };
      for (const p of ins.pairs) labels[p.key] = p.value;
      return { ...c, Labels: labels };
    }
    case 'EXPOSE': {
      const ports = { ...((c['ExposedPorts'] as Record<string, object> | undefined) ?? {}) };
      for (const p of ins.ports) ports[p.includes('/') ? p.toLowerCase() : `${p}/tcp`] = {};
      return { ...c, ExposedPorts: ports };
    }
    case 'VOLUME': {
      const volumes = { ...((c['Volumes'] as Record<string, object> | undefined) ?? {}) };
      for (const p of ins.paths) volumes[p] = {};
      return { ...c, Volumes: volumes };
    }
    case 'WORKDIR':
      return { ...c, WorkingDir: joinWorkdir(c.WorkingDir, ins.path) };
    case 'USER':
      return { ...c, User: ins.user };
    case 'CMD':
      return { ...c, Cmd: argvOf(ins.command, c) };
    case 'ENTRYPOINT':
      // Docker: an ENTRYPOINT drops the CMD the base image had, not one this stage set.
      return { ...c, Entrypoint: argvOf(ins.command, c), ...(cmdSetInStage ? {} : { Cmd: null }) };
    case 'STOPSIGNAL':
      return { ...c, StopSignal: ins.signal };
    case 'SHELL':
      return { ...c, Shell: [...ins.shell] };
    case 'HEALTHCHECK':
      return { ...c, Healthcheck: healthcheckJson(ins.health) };
    case 'ONBUILD':
      return { ...c, OnBuild: [...((c['OnBuild'] as string[] | undefined) ?? []), ins.expression] };
    case 'MAINTAINER':
      return c;
    default:
      return null;
  }
}
