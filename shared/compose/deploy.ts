/**
 * A service's `deploy:` section: mode and replicas, endpoint mode, service labels, resources,
 * placement, and the restart / update / rollback policies.
 */
import { defaultPlacement, defaultResources } from '../task-spec';
import type { EndpointSpec, Placement, Resources, RestartPolicy, ServiceMode, UpdateConfig } from '../types';
import type { TreeNode } from './parse';
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
  };
  const map = r.mapping(node, path);
  if (map === null) return result;
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
