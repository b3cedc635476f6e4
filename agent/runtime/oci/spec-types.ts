/**
 * The OCI runtime spec's config.json (runtime-spec 1.1, config.md and config-linux.md): the one
 * configuration of a container. The agent writes it (spec.ts), native/src/oci-config.cc reads it.
 * Only the fields tsswarm writes are declared; optional fields are the spec's optional fields.
 */
import type { OciSeccomp } from './seccomp';

export interface OciUser {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
}

export interface OciCapabilities {
  bounding: string[];
  effective: string[];
  inheritable: string[];
  permitted: string[];
  ambient: string[];
}

export interface OciRlimit {
  type: string;
  hard: number;
  soft: number;
}

export interface OciProcess {
  terminal: boolean;
  user: OciUser;
  args: string[];
  env: string[];
  cwd: string;
  capabilities: OciCapabilities;
  rlimits: OciRlimit[];
  noNewPrivileges: boolean;
  oomScoreAdj?: number;
}

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

export type OciNamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup';

export interface OciNamespace {
  type: OciNamespaceType;
  path?: string;
}

export interface OciIdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface OciDeviceRule {
  allow: boolean;
  type?: 'a' | 'b' | 'c';
  major?: number;
  minor?: number;
  access?: string;
}

export interface OciDevice {
  path: string;
  type: 'c' | 'b' | 'u' | 'p';
  major: number;
  minor: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface OciResources {
  devices: OciDeviceRule[];
  memory?: { limit?: number };
  cpu?: { quota?: number; period?: number };
  pids?: { limit: number };
}

export interface OciLinux {
  namespaces: OciNamespace[];
  uidMappings?: OciIdMapping[];
  gidMappings?: OciIdMapping[];
  devices: OciDevice[];
  resources: OciResources;
  cgroupsPath: string;
  sysctl: Record<string, string>;
  seccomp?: OciSeccomp;
  maskedPaths: string[];
  readonlyPaths: string[];
  rootfsPropagation?: string;
}

export interface OciSpec {
  ociVersion: string;
  process: OciProcess;
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: OciMount[];
  annotations?: Record<string, string>;
  linux: OciLinux;
}
