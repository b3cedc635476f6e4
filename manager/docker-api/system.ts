/**
 * The Docker Engine API's system endpoints, as a Docker client first asks them: `/_ping` (with the
 * headers a client negotiates from: `API-Version`, `Ostype`, `Docker-Experimental`, `Swarm`) and
 * `/version`. tsswarm speaks API 1.41, Docker 20.10's: a newer client (Docker 28 asks 1.50)
 * adopts the server's version from `/_ping`, as it does against an older dockerd.
 */
import { arch, release } from 'node:os';

export const API_VERSION = '1.41';
export const MIN_API_VERSION = '1.24';

/** What a Docker client reads of this server: names of Docker's fields and values. */
export interface DockerVersionInfo {
  Platform: { Name: string };
  Components: Array<{ Name: string; Version: string; Details: Record<string, string> }>;
  Version: string;
  ApiVersion: string;
  MinAPIVersion: string;
  GitCommit: string;
  GoVersion: string;
  Os: string;
  Arch: string;
  KernelVersion: string;
  BuildTime: string;
}

/** Docker's names for Node's architectures. */
export function dockerArch(a: string = arch()): string {
  return a === 'x64' ? 'amd64' : a === 'arm64' ? 'arm64' : a;
}

export function versionInfo(tsswarmVersion: string): DockerVersionInfo {
  return {
    Platform: { Name: `tsswarm ${tsswarmVersion}` },
    Components: [{ Name: 'Engine', Version: tsswarmVersion, Details: { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, Os: 'linux', Arch: dockerArch(), KernelVersion: release(), Experimental: 'false' } }],
    Version: tsswarmVersion,
    ApiVersion: API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    GitCommit: 'tsswarm',
    GoVersion: `node ${process.version}`,
    Os: 'linux',
    Arch: dockerArch(),
    KernelVersion: release(),
    BuildTime: '',
  };
}

/** The headers of every `/_ping` answer; `swarm` is Docker's `<LocalNodeState>/<manager|worker>`. */
export function pingHeaders(swarm: string): Record<string, string> {
  return { 'API-Version': API_VERSION, Ostype: 'linux', 'Docker-Experimental': 'false', Swarm: swarm, 'Cache-Control': 'no-cache, no-store, must-revalidate', Pragma: 'no-cache' };
}

/**
 * A request path without its version prefix (`/v1.41/version` → `/version`), and the version
 * asked; null for a version this server does not answer (older than MIN_API_VERSION).
 */
export function unversioned(path: string): { path: string; version: string } | { error: string } {
  const m = /^\/v(\d+)\.(\d+)(\/.*)$/.exec(path);
  if (!m) return { path, version: API_VERSION };
  const version = `${m[1]}.${m[2]}`;
  const cmp = (a: string, b: string) => {
    const [x1, y1] = a.split('.').map(Number) as [number, number];
    const [x2, y2] = b.split('.').map(Number) as [number, number];
    return x1 - x2 || y1 - y2;
  };
  if (cmp(version, MIN_API_VERSION) < 0) return { error: `client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version` };
  if (cmp(version, API_VERSION) > 0) return { error: `client version ${version} is too new. Maximum supported API version is ${API_VERSION}` };
  return { path: m[3]!, version };
}
