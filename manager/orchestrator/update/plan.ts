/**
 * One step of a rolling update (or a rollback), pure: (service, tasks, nodes, now) → the tasks to
 * replace now and the service's new update status. Nothing is kept in memory between steps, so a
 * new leader goes on from where the store says the update stands.
 *
 * A unit is a replica slot (or, for a global service, a node). Each pass sorts the units:
 *   - done: its task of the current spec is ready (running, and healthy where it has a check);
 *   - in flight: its current task is not ready yet, or it has no live task (being refilled);
 *   - dirty: it has only a task of an older spec, which this plan may replace.
 * At most `parallelism` units (0: all) are in flight, or cooling down (done less than `delay`
 * ago); the first dirty units fill what is left. Stop-first retires the old task (the replicated
 * reconciler refills the slot once it has stopped); start-first makes the new task beside it
 * (the old goes once the new one is ready: keepers.ts).
 *
 * A task of the current spec made since the update started counts as failed when it fails or is
 * rejected, ends early (restart condition `any`), or is not ready `monitor` after it was made. More
 * failures than `max_failure_ratio` of the units trigger `failure_action`: pause, continue, or
 * rollback (to the previous spec, with rollback_config). The update completes when every unit is
 * done, no older task is left and the last task has been ready for `monitor`.
 */
import type { ClusterNode, Service, Task, UpdateConfig, UpdateState, UpdateStatus } from '../../../shared/types';
import { isReady, isTerminal } from '../../../shared/task-state';
import { isCurrent, updateActive } from '../../../shared/service-versions';
import { DEFAULT_UPDATE_MONITOR_MS, HEALTH_INTERVAL_MS, HEALTH_TIMEOUT_MS, defaultRestartPolicy, defaultUpdateConfig } from '../../../shared/task-spec';
import { emptyActions, type TaskActions } from '../actions';
import { newTask, withDesired } from '../task-factory';
import { globalNodes } from '../global';
import { rolledBack } from './spec-change';

export interface UpdatePlan {
  actions: TaskActions;
  /** The service record to write (a new status, or the previous spec on an automatic rollback); null: unchanged. */
  service: Service | null;
  /** When a pass should run again with nothing changed (a delay or a monitor period ends), in ms from now. */
  againInMs: number | null;
}

interface Unit {
  key: string;
  live: Task[];
  make: () => Task;
}

function units(service: Service, tasks: Task[], nodes: ClusterNode[], now: string): Unit[] {
  const live = tasks.filter((t) => t.serviceId === service.id && t.desiredState === 'running' && !isTerminal(t.status.state));
  const down = new Set(nodes.filter((n) => n.status.state === 'down').map((n) => n.id));
  const known = new Set(nodes.map((n) => n.id));
  // A task on a lost node is the reconcilers' to replace, not the update's.
  const usable = live.filter((t) => t.nodeId === null || (known.has(t.nodeId) && !down.has(t.nodeId)));
  if (service.spec.mode === 'global') {
    return globalNodes(service, nodes)
      .filter((n) => !down.has(n.id))
      .sort((a, b) => a.hostname.localeCompare(b.hostname))
      .map((n) => ({ key: n.id, live: usable.filter((t) => t.nodeId === n.id), make: () => newTask(service, null, n, now) }));
  }
  return Array.from({ length: service.spec.replicas }, (_, i) => i + 1).map((slot) => ({
    key: String(slot),
    live: usable.filter((t) => t.slot === slot),
    make: () => newTask(service, slot, null, now),
  }));
}

/**
 * When a new task that is not ready yet counts as failed: `monitor` after it was made; but a task
 * that runs and whose health check has not answered yet gets the time its check needs for a first
 * answer (start period, interval, timeout) if that is longer, so a check slower than the monitor
 * period (the voting example's vote: every 10 s, monitor 5 s) is waited for rather than taken for a
 * failure. A check that fails makes the task unhealthy, and then failed, by itself.
 */
function readyBy(t: Task, monitor: number): number {
  const made = Date.parse(t.createdAt) + monitor;
  if (t.status.state !== 'running' || t.status.health !== 'starting') return made;
  const h = t.spec.container.healthcheck;
  // An image's HEALTHCHECK is the agent's to read: its timings are taken as Docker's defaults.
  const answer = (h?.startPeriodMs ?? 0) + (h?.intervalMs || HEALTH_INTERVAL_MS) + (h?.timeoutMs || HEALTH_TIMEOUT_MS);
  return Math.max(made, Date.parse(t.status.timestamp) + Math.max(monitor, answer));
}

/** The config this kind of update runs with. */
export function configOf(service: Service): UpdateConfig {
  const rollback = service.updateStatus?.state.startsWith('rollback') === true;
  return (rollback ? service.spec.rollback : service.spec.update) ?? defaultUpdateConfig();
}

function status(s: UpdateStatus, state: UpdateState, now: string, message: string, done: boolean): UpdateStatus {
  return { state, startedAt: s.startedAt, completedAt: done ? now : null, message, ...(s.rebalance ? { rebalance: true } : {}) };
}

export function planUpdate(service: Service, tasks: Task[], nodes: ClusterNode[], now: string): UpdatePlan {
  const idle: UpdatePlan = { actions: emptyActions(), service: null, againInMs: null };
  const st = service.updateStatus;
  if (st === null || !updateActive(st)) return idle;
  const rollingBack = st.state === 'rollback_started';
  const rebalance = st.rebalance === true;
  // A rebalance never goes below the desired count, and has no previous spec to go back to.
  const base = configOf(service);
  const cfg: UpdateConfig = rebalance ? { ...base, order: 'start-first', failureAction: base.failureAction === 'continue' ? 'continue' : 'pause' } : base;
  const what = rebalance ? 'rebalance' : rollingBack ? 'rollback' : 'update';
  const monitor = cfg.monitorMs ?? DEFAULT_UPDATE_MONITOR_MS;
  const nowMs = Date.parse(now);
  const startedMs = Date.parse(st.startedAt);
  let wakeAt = Infinity;
  const wake = (at: number) => {
    if (at > nowMs) wakeAt = Math.min(wakeAt, at);
  };

  // Failures among the tasks this update made.
  const endsEarly = (service.spec.task.restartPolicy ?? defaultRestartPolicy()).condition === 'any';
  const failed: Task[] = [];
  for (const t of tasks) {
    if (t.serviceId !== service.id || !isCurrent(t, service) || Date.parse(t.createdAt) < startedMs) continue;
    const s = t.status.state;
    if (s === 'failed' || s === 'rejected' || (s === 'complete' && endsEarly)) failed.push(t);
    else if (!isTerminal(s) && t.desiredState === 'running' && !isReady(t.status)) {
      const deadline = readyBy(t, monitor);
      if (nowMs >= deadline) failed.push(t);
      else wake(deadline);
    }
  }
  const all = units(service, tasks, nodes, now);
  if (failed.length > cfg.maxFailureRatio * all.length && cfg.failureAction !== 'continue') {
    const first = [...failed].sort((a, b) => a.createdAt.localeCompare(b.createdAt))[0]!;
    const why = `due to failure or early termination of task ${first.id}`;
    if (cfg.failureAction === 'rollback' && !rollingBack) {
      const back = rolledBack(service, now, `update rolled back ${why}`);
      if (back !== null) return { actions: emptyActions(), service: back, againInMs: null };
    }
    const paused = rollingBack ? 'rollback_paused' : 'paused';
    return { actions: emptyActions(), service: { ...service, updateStatus: status(st, paused, now, `${what} paused ${why}`, false), updatedAt: now }, againInMs: null };
  }

  // Sort the units.
  const dirty: Unit[] = [];
  let busy = 0;
  let settled = true;
  for (const u of all) {
    const cur = u.live.filter((t) => isCurrent(t, service));
    const old = u.live.filter((t) => !isCurrent(t, service));
    const ready = cur.find((t) => isReady(t.status));
    if (old.length > 0) settled = false;
    if (ready) {
      const since = Date.parse(ready.status.timestamp);
      if (since + cfg.delayMs > nowMs) {
        busy++;
        wake(since + cfg.delayMs);
      }
      if (since + monitor > nowMs) {
        settled = false;
        wake(since + monitor);
      }
    } else if (cur.length > 0 || old.length === 0) {
      busy++;
      settled = false;
    } else {
      dirty.push(u);
    }
  }

  if (dirty.length === 0 && busy === 0 && settled) {
    const done = rollingBack ? 'rollback_completed' : 'completed';
    return { actions: emptyActions(), service: { ...service, updateStatus: status(st, done, now, `${what} completed`, true), updatedAt: now }, againInMs: null };
  }

  const actions = emptyActions();
  const room = cfg.parallelism === 0 ? dirty.length : Math.max(0, cfg.parallelism - busy);
  for (const u of dirty.slice(0, room)) {
    if (cfg.order === 'start-first') actions.create.push(u.make());
    else for (const t of u.live) actions.update.push(withDesired(t, 'shutdown'));
  }
  return { actions, service: null, againInMs: wakeAt === Infinity ? null : wakeAt - nowMs };
}
