/**
 * The API's checks of the parts of a service spec that issue 11 added (mounts, secrets, configs,
 * placement, reservations, labels, and the stored-only health check / restart / update settings).
 * The API does not trust its client: a spec from any client (the CLI's compose loader, a script,
 * later the Docker API) is checked before anything is written, each problem one line.
 */
import type { ServiceSpec } from '../../shared/types';
import { parseConstraint } from '../../shared/constraints';

type Fail = (m: string) => never;

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isStrMap = (x: unknown): boolean => isObj(x) && Object.values(x).every((v) => typeof v === 'string');
const isNonNegIntOrNull = (x: unknown): boolean => x === null || (Number.isSafeInteger(x) && (x as number) >= 0);
const isPosIntOrNull = (x: unknown): boolean => x === null || (Number.isSafeInteger(x) && (x as number) > 0);
const PROPAGATION = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'];
const SPREAD = /^(node\.(id|hostname|role|platform\.os|platform\.arch)|(node|engine)\.labels\.[a-zA-Z0-9_.\-/]+)$/;

export function validateTaskExtras(s: ServiceSpec, fail: Fail): void {
  const t = s.task;
  const c = t.container;
  if (!isStrMap(c.labels)) fail('container labels must be a map of strings');
  if (typeof t.hostNetwork !== 'boolean') fail('hostNetwork must be true or false');
  if (t.hostNetwork && s.networks.length > 0) fail('a service on the host network cannot join other networks');
  if (!Array.isArray(c.mounts)) fail('mounts must be a list');
  const targets = new Set<string>();
  for (const m of c.mounts) {
    if (!isObj(m) || !['bind', 'volume', 'tmpfs'].includes(m.type as string)) fail(`invalid mount ${JSON.stringify(m)}`);
    if (typeof m.target !== 'string' || !m.target.startsWith('/')) fail(`mount target must be an absolute path, got ${JSON.stringify(m.target)}`);
    if (targets.has(m.target)) fail(`two mounts on ${m.target}`);
    targets.add(m.target);
    if (typeof m.source !== 'string' || typeof m.readOnly !== 'boolean') fail(`mount ${m.target}: source must be a string and readOnly a boolean`);
    if (m.type === 'bind') {
      if (!m.source.startsWith('/') && !m.source.includes('{{')) fail(`bind mount ${m.target}: source must be an absolute host path, got ${JSON.stringify(m.source)}`);
      if (!isObj(m.bind) || !PROPAGATION.includes(m.bind.propagation as string) || typeof m.bind.createHostPath !== 'boolean') fail(`bind mount ${m.target}: invalid bind options`);
    } else if (m.bind !== null) fail(`mount ${m.target}: bind options on a ${m.type} mount`);
    if (m.type === 'volume') {
      const v = m.volume;
      if (!isObj(v) || typeof v.noCopy !== 'boolean' || !isStrMap(v.labels)) fail(`volume mount ${m.target}: invalid volume options`);
      if (v.driver !== null && (!isObj(v.driver) || typeof v.driver.name !== 'string' || v.driver.name === '' || !isStrMap(v.driver.options))) fail(`volume mount ${m.target}: invalid driver`);
      if (m.source !== '' && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(m.source) && !m.source.includes('{{')) fail(`invalid volume name ${JSON.stringify(m.source)}`);
    } else if (m.volume !== null) fail(`mount ${m.target}: volume options on a ${m.type} mount`);
    if (m.type === 'tmpfs') {
      if (!isObj(m.tmpfs) || !isPosIntOrNull(m.tmpfs.sizeBytes) || !isNonNegIntOrNull(m.tmpfs.mode)) fail(`tmpfs mount ${m.target}: invalid size or mode`);
      if (m.source !== '') fail(`tmpfs mount ${m.target} takes no source`);
    } else if (m.tmpfs !== null) fail(`mount ${m.target}: tmpfs options on a ${m.type} mount`);
  }
  const refs = (list: unknown, kind: string, idKey: string, nameKey: string): void => {
    if (!Array.isArray(list)) fail(`${kind}s must be a list`);
    const files = new Set<string>();
    for (const r of list as unknown[]) {
      if (!isObj(r) || typeof r[idKey] !== 'string' || typeof r[nameKey] !== 'string' || r[nameKey] === '') fail(`invalid ${kind} reference ${JSON.stringify(r)}`);
      const f = r.file;
      if (!isObj(f) || typeof f.name !== 'string' || f.name === '' || typeof f.uid !== 'string' || typeof f.gid !== 'string' || !Number.isSafeInteger(f.mode) || (f.mode as number) < 0 || (f.mode as number) > 0o7777) {
        fail(`${kind} ${String(r[nameKey])}: invalid target, uid, gid or mode`);
      }
      if (f.name.split('/').includes('..')) fail(`${kind} ${String(r[nameKey])}: target ${f.name} may not contain ..`);
      if (files.has(f.name)) fail(`two ${kind}s at ${f.name}`);
      files.add(f.name);
    }
  };
  refs(c.secrets, 'secret', 'secretId', 'secretName');
  refs(c.configs, 'config', 'configId', 'configName');
  if (c.healthcheck !== null) validateHealthcheck(c.healthcheck, fail);
  // Absent in specs from before them: false.
  if (c.tty !== undefined && typeof c.tty !== 'boolean') fail('tty must be true or false');
  if (c.openStdin !== undefined && typeof c.openStdin !== 'boolean') fail('openStdin must be true or false');

  const p = t.placement;
  if (!isObj(p) || !Array.isArray(p.constraints) || !Array.isArray(p.preferences)) fail('placement must be {constraints, preferences, maxReplicas}');
  for (const text of p.constraints) {
    if (typeof text !== 'string') fail('constraints must be strings');
    const parsed = parseConstraint(text);
    if (!parsed.ok) fail(parsed.reason);
  }
  for (const pref of p.preferences) if (!isObj(pref) || typeof pref.spread !== 'string' || !SPREAD.test(pref.spread)) fail(`invalid placement preference ${JSON.stringify(pref)}: use spread: node.labels.<key>`);
  if (!Number.isSafeInteger(p.maxReplicas) || p.maxReplicas < 0) fail('max replicas per node must be a non-negative integer');
  if (s.mode === 'global' && p.maxReplicas > 0) fail('max replicas per node cannot be used with mode global');

  const r = t.resources.reservations;
  if (!isObj(r) || !isPosIntOrNull(r.memoryBytes) || !isPosIntOrNull(r.nanoCpus) || !isObj(r.generic)) fail('reservations must be positive integers');
  for (const [k, v] of Object.entries(r.generic)) if (!/^[a-zA-Z0-9_.-]+$/.test(k) || !Number.isSafeInteger(v) || v <= 0) fail(`invalid generic resource reservation ${k}=${String(v)}`);

  const rp = t.restartPolicy;
  if (rp !== null && (!isObj(rp) || !['none', 'on-failure', 'any'].includes(rp.condition))) fail('restart condition must be none, on-failure or any');
  if (rp !== null && (!isNonNegIntOrNull(rp.delayMs) || !isNonNegIntOrNull(rp.maxAttempts) || !isNonNegIntOrNull(rp.windowMs))) fail('restart delay, max attempts and window must be non-negative');
  if (t.forceUpdate !== undefined && (!Number.isSafeInteger(t.forceUpdate) || t.forceUpdate < 0)) fail('forceUpdate must be a non-negative integer');
  if (t.logDriver !== null && (!isObj(t.logDriver) || typeof t.logDriver.name !== 'string' || !isStrMap(t.logDriver.options))) fail('invalid log driver');
  const deps = s.dependsOn;
  if (deps !== undefined && (!Array.isArray(deps) || !deps.every((d) => isObj(d) && typeof d.service === 'string' && ['service_started', 'service_healthy', 'service_completed_successfully'].includes(d.condition as string)))) {
    fail('dependsOn must be a list of {service, condition: service_started|service_healthy|service_completed_successfully}');
  }
  if (deps?.some((d) => d.service === s.name)) fail('a service cannot depend on itself');
  for (const [k, u] of [['update', s.update], ['rollback', s.rollback]] as const) {
    if (u === null) continue;
    if (!isObj(u)) fail(`invalid ${k} config`);
    if (!Number.isSafeInteger(u.parallelism) || u.parallelism < 0) fail(`${k} parallelism must be a non-negative integer, got ${String(u.parallelism)}`);
    if (!(k === 'update' ? ['pause', 'continue', 'rollback'] : ['pause', 'continue']).includes(u.failureAction)) fail(`${k} failure action must be pause, continue${k === 'update' ? ' or rollback' : ''}, got ${String(u.failureAction)}`);
    if (!['stop-first', 'start-first'].includes(u.order)) fail(`${k} order must be stop-first or start-first, got ${String(u.order)}`);
    if (!Number.isSafeInteger(u.delayMs) || u.delayMs < 0 || !isNonNegIntOrNull(u.monitorMs)) fail(`${k} delay and monitor must be non-negative durations`);
    if (typeof u.maxFailureRatio !== 'number' || !(u.maxFailureRatio >= 0 && u.maxFailureRatio <= 1)) fail(`${k} max failure ratio must be from 0 to 1, got ${String(u.maxFailureRatio)}`);
  }
}

/** Docker's HealthConfig.Test: [] (the image's), ["NONE"], ["CMD", arg...] or ["CMD-SHELL", command]. */
function validateHealthcheck(h: unknown, fail: Fail): void {
  if (!isObj(h) || !Array.isArray(h.test) || !h.test.every((x) => typeof x === 'string')) fail('healthcheck test must be a list of strings');
  const test = h.test as string[];
  const kind = test[0];
  const ok = test.length === 0 || (kind === 'NONE' && test.length === 1) || (kind === 'CMD' && test.length >= 2) || (kind === 'CMD-SHELL' && test.length === 2);
  if (!ok) fail(`healthcheck test must be [], ["NONE"], ["CMD", arg...] or ["CMD-SHELL", command], got ${JSON.stringify(test)}`);
  for (const k of ['intervalMs', 'timeoutMs', 'startPeriodMs', 'startIntervalMs', 'retries'] as const) {
    if (!isNonNegIntOrNull(h[k])) fail(`healthcheck ${k.replace(/Ms$/, '')} must be a non-negative number`);
  }
}
