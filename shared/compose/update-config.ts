/**
 * `deploy.update_config` / `deploy.rollback_config` and `deploy.restart_policy`: validated and
 * stored in the service model with Docker's defaults for what is not given; the orchestrator's
 * update and restart loops act on them.
 */
import type { RestartPolicy, UpdateConfig } from '../types';
import type { TreeNode } from './parse';
import type { Reader } from './reader';
import { RESTART_POLICY, UPDATE_CONFIG } from './schema';
import { describe } from './tree';
import { defaultRestartPolicy, defaultUpdateConfig } from '../task-spec';

const CONDITIONS = ['none', 'on-failure', 'any'] as const;
const ORDERS = ['stop-first', 'start-first'] as const;

/** `rollback_config` cannot roll back a rollback, so its failure actions are fewer (Swarm's rule). */
export function updateConfig(r: Reader, node: TreeNode | null, path: string, rollback: boolean): UpdateConfig | null {
  const map = r.mapping(node, path);
  if (map === null) return null;
  const f = r.fields(map, UPDATE_CONFIG, path, r.ignoredService, rollback ? 'deploy.rollback_config.' : 'deploy.update_config.');
  const out: UpdateConfig = defaultUpdateConfig();

  const parallelism = f.get('parallelism');
  if (parallelism) out.parallelism = r.integer(parallelism, `${path}.parallelism`, 0) ?? out.parallelism;
  const delay = f.get('delay');
  if (delay) out.delayMs = nonNegativeDuration(r, delay, `${path}.delay`) ?? out.delayMs;
  const monitor = f.get('monitor');
  if (monitor) out.monitorMs = nonNegativeDuration(r, monitor, `${path}.monitor`);

  const actions = rollback ? (['pause', 'continue'] as const) : (['pause', 'continue', 'rollback'] as const);
  const action = oneOf(r, f.get('failure_action'), `${path}.failure_action`, actions);
  if (action !== null) out.failureAction = action;
  const order = oneOf(r, f.get('order'), `${path}.order`, ORDERS);
  if (order !== null) out.order = order;

  const ratio = f.get('max_failure_ratio');
  if (ratio) {
    const n = ratio.kind === 'scalar' ? Number(typeof ratio.value === 'number' ? ratio.value : typeof ratio.value === 'string' && ratio.value.trim() !== '' ? ratio.value : NaN) : NaN;
    if (!Number.isFinite(n) || n < 0 || n > 1) r.problem(`${path}.max_failure_ratio`, `must be a number from 0 to 1, got ${describe(ratio)}`, ratio.line);
    else out.maxFailureRatio = n;
  }
  return out;
}

export function restartPolicy(r: Reader, node: TreeNode | null, path: string): RestartPolicy | null {
  const map = r.mapping(node, path);
  if (map === null) return null;
  const f = r.fields(map, RESTART_POLICY, path, r.ignoredService, 'deploy.restart_policy.');
  // Swarm's default condition when a policy is given without one.
  const out: RestartPolicy = defaultRestartPolicy();
  const condition = oneOf(r, f.get('condition'), `${path}.condition`, CONDITIONS);
  if (condition !== null) out.condition = condition;
  const delay = f.get('delay');
  if (delay) out.delayMs = nonNegativeDuration(r, delay, `${path}.delay`);
  const attempts = f.get('max_attempts');
  if (attempts) out.maxAttempts = r.integer(attempts, `${path}.max_attempts`, 0);
  const window = f.get('window');
  if (window) out.windowMs = nonNegativeDuration(r, window, `${path}.window`);
  return out;
}

function oneOf<T extends string>(r: Reader, node: TreeNode | null, path: string, allowed: readonly T[]): T | null {
  if (node === null) return null;
  const text = r.string(node, path);
  if (text === null) return null;
  if ((allowed as readonly string[]).includes(text)) return text as T;
  r.problem(path, `must be ${allowed.slice(0, -1).join(', ')} or ${allowed[allowed.length - 1]}, got ${JSON.stringify(text)}`, node.line);
  return null;
}

/** Go durations cannot be negative in these fields: Swarm refuses `-1s` delays. */
function nonNegativeDuration(r: Reader, node: TreeNode, path: string): number | null {
  if (node.kind === 'scalar' && typeof node.value === 'string' && node.value.trim().startsWith('-')) {
    r.problem(path, `must not be negative, got ${describe(node)}`, node.line);
    return null;
  }
  return r.duration(node, path);
}
