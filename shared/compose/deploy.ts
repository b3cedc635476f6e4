/**
 * A service's `deploy:` section: mode and replicas, endpoint mode, service labels, resources,
 * placement, and the restart / update / rollback policies.
 */
import { defaultPlacement, defaultResources } from '../task-spec';
import type { EndpointSpec, Placement, Resources, RestartPolicy, ServiceMode, UpdateConfig } from '../types';
import type { TreeMap, TreeNode } from './parse';
import { placement } from './placement';
import type { Reader } from './reader';
import { resources } from './resources';
import { DEPLOY } from './schema';
import { restartPolicy, updateConfig } from './update-config';

export interface Deploy {
  mode: ServiceMode;
  replicas: number;
  /** `deploy.labels`, without the namespace label. */
  labels: Record<string, string>;
  resources: Resources;
  placement: Placement;
  restartPolicy: RestartPolicy | null;
  update: UpdateConfig | null;
  rollback: UpdateConfig | null;
  /** null when not given (vip); the line is for the dnsrr-with-ingress-ports error. */
  endpointMode: { mode: EndpointSpec['mode']; line: number } | null;
  /** `x-tsswarm.rebalance` (ServiceSpec.rebalance); null when not given. */
  rebalance: 'auto' | 'manual' | null;
}

/** The keys of tsswarm's own `deploy.x-tsswarm` extension. */
const X_TSSWARM = ['rebalance'];

/** `deploy.x-tsswarm`: tsswarm's own deploy settings (other tools ignore x- keys). Checked as strictly as any key. */
function tsswarmExtension(r: Reader, map: TreeMap, path: string): 'auto' | 'manual' | null {
  const entry = map.entries.find((e) => e.key === 'x-tsswarm');
  if (entry === undefined) return null;
  const p = `${path}.x-tsswarm`;
  const ext = r.mapping(entry.value, p);
  if (ext === null) return null;
  let rebalance: 'auto' | 'manual' | null = null;
  for (const e of ext.entries) {
    if (!X_TSSWARM.includes(e.key)) {
      r.problem(`${p}.${e.key}`, `unknown key (${X_TSSWARM.join(', ')})`, e.keyLine);
      continue;
    }
    const v = r.string(e.value, `${p}.rebalance`);
    if (v === 'auto' || v === 'manual') rebalance = v;
    else if (v !== null) r.problem(`${p}.rebalance`, `must be auto or manual, got ${JSON.stringify(v)}`, e.value.line);
  }
  return rebalance;
}

export function deploy(r: Reader, node: TreeNode | null, path: string): Deploy {
  const result: Deploy = {
    mode: 'replicated',
    replicas: 1,
    labels: {},
    resources: defaultResources(),
    placement: defaultPlacement(),
    restartPolicy: null,
    update: null,
    rollback: null,
    endpointMode: null,
    rebalance: null,
  };
  const map = r.mapping(node, path);
  if (map === null) return result;
  result.rebalance = tsswarmExtension(r, map, path);
  const f = r.fields(map, DEPLOY, path, r.ignoredService, 'deploy.');

  const modeNode = f.get('mode');
  if (modeNode) {
    const mode = r.string(modeNode, `${path}.mode`);
    if (mode === 'replicated' || mode === 'global') result.mode = mode;
    else if (mode === 'replicated-job' || mode === 'global-job') {
      r.problem(`${path}.mode`, `mode ${mode} is not supported yet; use replicated or global`, modeNode.line);
    } else if (mode !== null) {
      r.problem(`${path}.mode`, `must be replicated or global, got ${JSON.stringify(mode)}`, modeNode.line);
    }
  }

  const replicasNode = f.get('replicas');
  if (result.mode === 'global') result.replicas = 0;
  if (replicasNode) {
    const replicas = r.integer(replicasNode, `${path}.replicas`, 0);
    if (replicas !== null && result.mode === 'global') {
      r.problem(`${path}.replicas`, 'cannot be used with mode global (a global service runs one task per node)', replicasNode.line);
    } else if (replicas !== null) {
      result.replicas = replicas;
    }
  }

  const endpointNode = f.get('endpoint_mode');
  if (endpointNode) {
    const mode = r.string(endpointNode, `${path}.endpoint_mode`);
    if (mode === 'vip' || mode === 'dnsrr') result.endpointMode = { mode, line: endpointNode.line };
    else if (mode !== null) r.problem(`${path}.endpoint_mode`, `must be vip or dnsrr, got ${JSON.stringify(mode)}`, endpointNode.line);
  }

  result.labels = r.labels(f.get('labels'), `${path}.labels`);
  result.resources = resources(r, f.get('resources'), `${path}.resources`);
  result.placement = placement(r, f.get('placement'), `${path}.placement`);
  result.restartPolicy = restartPolicy(r, f.get('restart_policy'), `${path}.restart_policy`);
  result.update = updateConfig(r, f.get('update_config'), `${path}.update_config`, false);
  result.rollback = updateConfig(r, f.get('rollback_config'), `${path}.rollback_config`, true);
  return result;
}
