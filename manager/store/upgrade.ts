/**
 * Records written by an earlier tsswarm, read in today's shape. Before the service model took
 * Docker's swarm shape, a service held `spec.container` and `spec.limits`, and a task held its
 * ContainerSpec as `spec` and its limits beside it; now both hold a TaskSpec. Every read from etcd
 * (the store, the watch-fed view) goes through here, so no loop ever sees the old shape, and a
 * cluster keeps its services and tasks across the upgrade. The next write stores the new shape.
 */
import { Keys } from '../../shared/keys';
import { completeTaskSpec } from '../../shared/task-spec';
import { specDigest } from '../../shared/service-versions';
import type { ServiceSpec } from '../../shared/types';

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

export function upgradeRecord(key: string, value: unknown): unknown {
  if (!isObj(value)) return value;
  if (key.startsWith(Keys.services)) return withUpdateFields(serviceOfTaskSpec(value));
  if (key.startsWith(Keys.tasks)) return withRestartFields(taskOfTaskSpec(value));
  return value;
}

function serviceOfTaskSpec(value: Obj): Obj {
  const spec = value.spec;
  if (!isObj(spec) || spec.task !== undefined || !isObj(spec.container)) return value;
  const { container, limits, ...rest } = spec;
  return { ...value, spec: { update: null, rollback: null, ...rest, task: completeTaskSpec({ container, resources: { limits } }) } };
}

function taskOfTaskSpec(value: Obj): Obj {
  const spec = value.spec;
  if (!isObj(spec) || spec.container !== undefined || typeof spec.image !== 'string') return value;
  const { limits, ...rest } = value;
  return { ...rest, spec: completeTaskSpec({ container: spec, resources: { limits } }) };
}

/**
 * Before rolling updates a service had no digest, previous spec or update status, and a task no
 * force counter. The digest is the one its spec has today, so its tasks (which compare versions
 * until they are replaced: shared/service-versions.ts) are not all restarted by the upgrade.
 */
function withUpdateFields(value: Obj): Obj {
  if (typeof value.specDigest === 'string' || !isObj(value.spec) || !isObj(value.spec.task)) return value;
  const spec = { ...value.spec, task: { ...value.spec.task, forceUpdate: value.spec.task.forceUpdate ?? 0 } } as unknown as ServiceSpec;
  return { ...value, spec, specDigest: specDigest(spec), previousSpec: null, updateStatus: null };
}

function withRestartFields(value: Obj): Obj {
  if (typeof value.specDigest === 'string' || !isObj(value.spec)) return value;
  return { ...value, specDigest: '', restarts: [], spec: { ...value.spec, forceUpdate: value.spec.forceUpdate ?? 0 } };
}
