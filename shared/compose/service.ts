/**
 * One entry of `services:` → a ServiceSpec, in Docker's swarm shape: the container (container-fields,
 * environment, labels, mounts, secrets, configs, healthcheck, runtime keys, tty and stdin_open), the task around it
 * (resources, placement, restart policy, logging, host network) and the service (mode, labels,
 * networks, ports, update and rollback).
 */
import { buildOf, builtImageName } from './build';
import type { StackBuild } from '../types';
import { NAMESPACE_LABEL } from '../task-spec';
import type { ContainerSpec, EndpointSpec, ServiceSpec } from '../types';
import { configRefs, secretRefs } from './blob-refs';
import type { BlobTable } from './blobs';
import { dns, dnsSearch, extraHosts, hostname, image, stopGracePeriod, words, workingDir } from './container-fields';
import { deploy } from './deploy';
import { type Dependency, dependsOn } from './depends-on';
import { serviceEnvironment } from './environment';
import { healthcheck } from './healthcheck';
import { logging } from './logging';
import { serviceMounts } from './mounts';
import { invalidServiceNameReason } from './names';
import type { NetworkTable } from './networks';
import type { TreeEntry, TreeNode } from './parse';
import type { Reader } from './reader';
import { runtimeSettings } from './runtime-keys';
import { SERVICE } from './schema';
import { serviceNetworks } from './service-networks';
import { type PortEntry, servicePorts } from './service-ports';
import { describe } from './tree';
import type { VolumeTable } from './volumes';

/** The stack's top-level definitions a service may refer to. */
export interface StackTables {
  networks: NetworkTable;
  volumes: VolumeTable;
  secrets: BlobTable;
  configs: BlobTable;
}

export interface ConvertedService {
  spec: ServiceSpec;
  /** `build:`, with the tag the image gets. */
  build: StackBuild | null;
  dependsOn: Dependency[];
  ports: PortEntry[];
  usesImplicitDefault: boolean;
}

export function service(r: Reader, entry: TreeEntry, stack: string, tables: StackTables): ConvertedService | null {
  const name = entry.key;
  const path = `services.${name}`;
  const nameProblem = invalidServiceNameReason(name, stack);
  if (nameProblem !== null) r.problem(path, nameProblem, entry.keyLine);
  if (entry.value.kind !== 'map') {
    r.problem(path, `must be a mapping, got ${describe(entry.value)}`, entry.keyLine);
    return null;
  }
  const f = r.fields(entry.value, SERVICE, path, r.ignoredService);
  const at = (key: string): string => `${path}.${key}`;

  const d = deploy(r, f.get('deploy'), at('deploy'));
  const nets = serviceNetworks(r, f.get('networks'), at('networks'), stack, tables.networks);
  const ports = servicePorts(r, f.get('ports'), at('ports'));
  const endpoint: EndpointSpec = { mode: d.endpointMode?.mode ?? 'vip', ports: ports.map((p) => p.port) };
  if (d.endpointMode?.mode === 'dnsrr' && ports.some((p) => p.port.mode === 'ingress')) {
    // Swarm's own words: the routing mesh balances on a virtual IP, which dnsrr does not have.
    r.problem(`${path}.deploy.endpoint_mode`, "port published with ingress mode can't be used with dnsrr mode", d.endpointMode.line);
  }

  // Swarm ignores it; tsswarm orders start-up by it (checked for dangling names and cycles by the caller).
  const deps: Dependency[] = f.has('depends_on') ? dependsOn(r, f.get('depends_on'), at('depends_on')) : [];

  const buildNode = f.get('build');
  const imageName = buildNode !== null && f.get('image') === null ? builtImageName(stack, name) : image(r, f.get('image'), path, entry.keyLine) ?? '';
  const built = buildOf(r, buildNode, at('build'), `${stack}_${name}`, imageName);
  const container: ContainerSpec = {
    image: imageName,
    command: words(r, f.get('command'), at('command')),
    entrypoint: words(r, f.get('entrypoint'), at('entrypoint')),
    env: serviceEnvironment(r, f.get('env_file'), f.get('environment'), path),
    workingDir: workingDir(r, f.get('working_dir'), at('working_dir')),
    user: r.optionalString(f.get('user'), at('user')),
    hostname: hostname(r, f.get('hostname'), at('hostname')),
    stopGracePeriodMs: stopGracePeriod(r, f.get('stop_grace_period'), at('stop_grace_period')),
    dns: dns(r, f.get('dns'), at('dns')),
    dnsSearch: dnsSearch(r, f.get('dns_search'), at('dns_search')),
    extraHosts: extraHosts(r, f.get('extra_hosts'), at('extra_hosts')),
    runtime: runtimeSettings(f.get, path, { problems: r.problems, dir: r.opts.dir }),
    labels: { ...r.labels(f.get('labels'), at('labels')), [NAMESPACE_LABEL]: stack },
    mounts: serviceMounts(r, f.get('volumes'), at('volumes'), { service: name, volumes: tables.volumes }),
    secrets: secretRefs(r, f.get('secrets'), at('secrets'), name, tables.secrets),
    configs: configRefs(r, f.get('configs'), at('configs'), name, tables.configs),
    healthcheck: healthcheck(r, f.get('healthcheck'), at('healthcheck')),
    ...stdio(r, f.get('tty'), f.get('stdin_open'), path),
  };
  checkTmpfsTargets(r, container, at('tmpfs'), f.entry('tmpfs')?.keyLine ?? entry.keyLine);

  const spec: ServiceSpec = {
    name: `${stack}_${name}`,
    stack,
    mode: d.mode,
    replicas: d.replicas,
    task: {
      container,
      hostNetwork: nets.hostNetwork,
      resources: d.resources,
      placement: d.placement,
      restartPolicy: d.restartPolicy,
      logDriver: logging(r, f.get('logging'), at('logging')),
      forceUpdate: 0,
    },
    labels: { ...d.labels, [NAMESPACE_LABEL]: stack },
    networks: nets.networks,
    endpoint,
    update: d.update,
    rollback: d.rollback,
    ...(d.rebalance !== null ? { rebalance: d.rebalance } : {}),
    ...(deps.length > 0 ? { dependsOn: deps.map((x) => ({ service: `${stack}_${x.name}`, condition: x.condition })) } : {}),
  };
  return { spec, build: built, dependsOn: deps, ports, usesImplicitDefault: nets.usesImplicitDefault };
}

/**
 * `tty` and `stdin_open` (YAML 1.1 spellings too, as docker/cli reads booleans), each only when true:
 * absent means false in the model, so a service stored before these keys existed and the same
 * service read again from an unchanged file are one spec, and redeploying it updates nothing.
 */
function stdio(r: Reader, tty: TreeNode | null, stdinOpen: TreeNode | null, path: string): Pick<ContainerSpec, 'tty' | 'openStdin'> {
  const t = r.boolean(tty, `${path}.tty`) ?? false;
  const o = r.boolean(stdinOpen, `${path}.stdin_open`) ?? false;
  return { ...(t ? { tty: true } : {}), ...(o ? { openStdin: true } : {}) };
}

/** A `tmpfs:` entry and a `volumes:` entry at one target would be two mounts on one path. */
function checkTmpfsTargets(r: Reader, c: ContainerSpec, path: string, line: number): void {
  const mounted = new Set(c.mounts.map((m) => m.target));
  for (const t of c.runtime.tmpfs) {
    if (mounted.has(t.target)) r.problem(path, `${t.target} is also a target in volumes`, line);
  }
}
