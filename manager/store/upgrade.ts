/**
 * Records written by an earlier tsswarm, read in today's shape. Before the service model took
 * Docker's swarm shape, a service held `spec.container` and `spec.limits`, and a task held its
 * ContainerSpec as `spec` and its limits beside it; now both hold a TaskSpec. Every read from etcd
 * (the store, the watch-fed view) goes through here, so no loop ever sees the old shape, and a
 * cluster keeps its services and tasks across the upgrade. The next write stores the new shape.
 */
import { Keys } from '../../shared/keys';
import { completeTaskSpec } from '../../shared/task-spec';

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

export function upgradeRecord(key: string, value: unknown): unknown {
  if (!isObj(value)) return value;
  if (key.startsWith(Keys.services)) {
    const spec = value.spec;
    if (!isObj(spec) || spec.task !== undefined || !isObj(spec.container)) return value;
    const { container, limits, ...rest } = spec;
    return { ...value, spec: { update: null, rollback: null, ...rest, task: completeTaskSpec({ container, resources: { limits } }) } };
  }
  if (key.startsWith(Keys.tasks)) {
    const spec = value.spec;
    if (!isObj(spec) || spec.container !== undefined || typeof spec.image !== 'string') return value;
    const { limits, ...rest } = value;
    return { ...rest, spec: completeTaskSpec({ container: spec, resources: { limits } }) };
  }
  return value;
}
