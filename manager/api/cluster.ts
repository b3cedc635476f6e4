/** `tsswarm update`: cluster-wide settings, checked before anything is written. */
import type { Cluster } from '../../shared/types';
import type { ClusterUpdateRequest } from '../../shared/api-types';
import { InvalidArgumentError } from '../../shared/errors';
import { MIN_CERT_EXPIRY_MS } from '../ca/ca-record';
import { normalizeRegistryHost } from '../../shared/image-ref';

export const MIN_HEARTBEAT_MS = 100;
export const MAX_HEARTBEAT_MS = 60_000;
/** Each kept task is a record every manager holds; a thousand per slot is past any use. */
export const MAX_TASK_HISTORY = 1000;

export function planClusterUpdate(c: Cluster, req: ClusterUpdateRequest): Cluster {
  if (typeof req !== 'object' || req === null) throw new InvalidArgumentError('expected a JSON object');
  const period = req.heartbeatPeriodMs ?? c.heartbeatPeriodMs;
  const grace = req.heartbeatGraceMs ?? c.heartbeatGraceMs;
  if (!Number.isSafeInteger(period) || period < MIN_HEARTBEAT_MS || period > MAX_HEARTBEAT_MS) {
    throw new InvalidArgumentError(`heartbeat period must be between ${MIN_HEARTBEAT_MS}ms and ${MAX_HEARTBEAT_MS / 1000}s`);
  }
  // Fewer than two missed heartbeats would mark nodes down on one late packet.
  if (!Number.isSafeInteger(grace) || grace < 2 * period || grace > 10 * MAX_HEARTBEAT_MS) {
    throw new InvalidArgumentError(`heartbeat grace must be at least twice the period (${2 * period}ms) and at most ${10 * MAX_HEARTBEAT_MS / 1000}s`);
  }
  const expiry = req.certExpiryMs ?? c.certExpiryMs;
  if (expiry !== undefined && (!Number.isSafeInteger(expiry) || expiry < MIN_CERT_EXPIRY_MS)) throw new InvalidArgumentError(`certificate expiry must be at least ${MIN_CERT_EXPIRY_MS / 1000}s`);
  const history = req.taskHistoryLimit ?? c.taskHistoryLimit;
  if (history !== undefined && (!Number.isSafeInteger(history) || history < 0 || history > MAX_TASK_HISTORY)) throw new InvalidArgumentError(`task history limit must be from 0 to ${MAX_TASK_HISTORY}`);
  const gc = req.imageGcThresholdPercent ?? c.imageGcThresholdPercent;
  if (gc !== undefined && (!Number.isSafeInteger(gc) || gc < 1 || gc > 100)) throw new InvalidArgumentError('image GC threshold must be a percentage from 1 to 100 (100: never collect)');
  const registries = { ...c.registries };
  if (req.registryMirrors !== undefined) registries.mirrors = stringList(req.registryMirrors, 'registry mirrors').map(mirrorUrl);
  if (req.insecureRegistries !== undefined) registries.insecure = stringList(req.insecureRegistries, 'insecure registries').map(registryHost);
  return {
    ...c,
    heartbeatPeriodMs: period,
    heartbeatGraceMs: grace,
    ...(expiry !== undefined ? { certExpiryMs: expiry } : {}),
    ...(history !== undefined ? { taskHistoryLimit: history } : {}),
    ...(gc !== undefined ? { imageGcThresholdPercent: gc } : {}),
    ...(registries.mirrors !== undefined || registries.insecure !== undefined ? { registries } : {}),
  };
}

function stringList(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new InvalidArgumentError(`${what} must be a list of strings`);
  return [...new Set(v.filter((x) => x !== ''))];
}

/** A mirror is a registry's root: http(s)://host[:port] with no path, query or credentials. */
function mirrorUrl(s: string): string {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new InvalidArgumentError(`registry mirror ${JSON.stringify(s)} is not a URL (e.g. https://mirror.example:5000)`);
  }
  if ((u.protocol !== 'https:' && u.protocol !== 'http:') || (u.pathname !== '/' && u.pathname !== '') || u.search || u.hash || u.username || u.password) {
    throw new InvalidArgumentError(`registry mirror ${JSON.stringify(s)} must be http(s)://host[:port], with no path or credentials`);
  }
  return `${u.protocol}//${u.host}`;
}

function registryHost(s: string): string {
  try {
    return normalizeRegistryHost(s);
  } catch {
    throw new InvalidArgumentError(`insecure registry ${JSON.stringify(s)} must be host[:port]`);
  }
}
