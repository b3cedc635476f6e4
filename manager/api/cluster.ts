/** `tsswarm update`: cluster-wide settings, checked before anything is written. */
import type { Cluster } from '../../shared/types';
import type { ClusterUpdateRequest } from '../../shared/api-types';
import { InvalidArgumentError } from '../../shared/errors';
import { MIN_CERT_EXPIRY_MS } from '../ca/ca-record';

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
  return { ...c, heartbeatPeriodMs: period, heartbeatGraceMs: grace, ...(expiry !== undefined ? { certExpiryMs: expiry } : {}), ...(history !== undefined ? { taskHistoryLimit: history } : {}) };
}
