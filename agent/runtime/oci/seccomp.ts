/**
 * A seccomp profile in Docker's format, resolved for one container on one host into the OCI
 * runtime-spec's `linux.seccomp` object (runtime-spec 1.1, config-linux.md "Seccomp").
 *
 * Conditions are resolved as moby's setupSeccomp does, so a profile written for Docker means the same:
 * - `includes`: kept only if every listed capability is in the container's set, the host's
 *   architecture is one of `arches`, and the kernel is at least `minKernel`;
 * - `excludes`: dropped if any listed capability is in the set, the host's architecture is one of
 *   `arches`, or the kernel is at least `minKernel`;
 * - `architectures`: the profile's own list, or else the `archMap` entry for the host's architecture
 *   and its sub-architectures. A host architecture we cannot name gets neither, and rules that
 *   include arches never apply there: the runtime still filters the native architecture, only less
 *   is allowed.
 * Unlike moby, rules that differ only in names are merged and names are listed once, and rules left
 * without names are dropped (the runtime-spec requires at least one).
 */
import { InvalidArgumentError } from '../../../shared/errors';
import type { SeccompArch, SeccompCondition, SeccompNativeArch, SeccompProfile } from '../../../shared/seccomp-profile';
import { DEFAULT_SECCOMP_PROFILE } from './seccomp-default';

export interface OciSeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}

export interface OciSyscall {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: OciSeccompArg[];
}

export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: OciSyscall[];
}

export interface SeccompTarget {
  /** The container's (bounding) capabilities, `CAP_SYS_ADMIN` or `SYS_ADMIN`. */
  capabilities: readonly string[];
  /** The host's architecture as Node names it (`process.arch`). */
  arch: string;
  /** The host's kernel release (`os.release()`), e.g. '6.8.0-45-generic'. */
  kernel: string;
}

/** Node's `process.arch` to libseccomp's name for the architecture, which profiles' `arches` use. */
const NODE_TO_NATIVE: Readonly<Record<string, SeccompNativeArch>> = {
  x64: 'amd64',
  ia32: 'x86',
  arm64: 'arm64',
  arm: 'arm',
  // Node has no separate name for little-endian ppc64, and on Linux it builds only that.
  ppc64: 'ppc64le',
  ppc: 'ppc',
  s390x: 's390x',
  s390: 's390',
  riscv64: 'riscv64',
  loong64: 'loongarch64',
  mips: 'mips',
  mipsel: 'mipsel',
};

const NATIVE_TO_SECCOMP: Readonly<Partial<Record<SeccompNativeArch, SeccompArch>>> = {
  amd64: 'SCMP_ARCH_X86_64',
  x86: 'SCMP_ARCH_X86',
  arm64: 'SCMP_ARCH_AARCH64',
  arm: 'SCMP_ARCH_ARM',
  ppc64le: 'SCMP_ARCH_PPC64LE',
  ppc: 'SCMP_ARCH_PPC',
  s390x: 'SCMP_ARCH_S390X',
  s390: 'SCMP_ARCH_S390',
  riscv64: 'SCMP_ARCH_RISCV64',
  loongarch64: 'SCMP_ARCH_LOONGARCH64',
  mips: 'SCMP_ARCH_MIPS',
  mipsel: 'SCMP_ARCH_MIPSEL',
};

export function ociSeccomp(profile: SeccompProfile, target: SeccompTarget): OciSeccomp {
  const arch = NODE_TO_NATIVE[target.arch] ?? null;
  const caps = new Set(target.capabilities.map(capabilityName));
  const kernelAtLeast = kernelComparer(target.kernel);
  const kernelOk = (c: SeccompCondition) => (c.minKernel === undefined ? null : kernelAtLeast(c.minKernel));
  const archOk = (c: SeccompCondition) => (isEmpty(c.arches) ? null : arch !== null && c.arches.includes(arch));
  // null: the condition does not say.
  const included = (c: SeccompCondition | undefined) =>
    c === undefined ||
    [isEmpty(c.caps) ? null : c.caps.every((x) => caps.has(x)), archOk(c), kernelOk(c)].every((h) => h !== false);
  const excluded = (c: SeccompCondition | undefined) =>
    c !== undefined &&
    [isEmpty(c.caps) ? null : c.caps.some((x) => caps.has(x)), archOk(c), kernelOk(c)].some((h) => h === true);

  // Rules equal but for their names become one, in the order each first appeared.
  const merged = new Map<string, { rule: OciSyscall; names: Set<string> }>();
  for (const rule of profile.syscalls) {
    if (excluded(rule.excludes) || !included(rule.includes)) continue;
    const out: OciSyscall = {
      names: [],
      action: rule.action,
      ...(rule.errnoRet !== undefined && { errnoRet: rule.errnoRet }),
      ...(rule.args !== undefined && rule.args.length > 0 && { args: rule.args.map((a) => ({ ...a })) }),
    };
    const args = (out.args ?? []).map((a) => [a.index, a.value, a.valueTwo ?? null, a.op]);
    const key = JSON.stringify([out.action, out.errnoRet ?? null, args]);
    const entry = merged.get(key) ?? { rule: out, names: new Set<string>() };
    merged.set(key, entry);
    for (const name of rule.names) entry.names.add(name);
  }
  const syscalls = [...merged.values()]
    .filter((e) => e.names.size > 0)
    .map((e) => ({ ...e.rule, names: [...e.names] }));

  const architectures = unique([...(profile.architectures ?? []), ...hostArchitectures(profile, arch)]);
  return {
    defaultAction: profile.defaultAction,
    ...(profile.defaultErrnoRet !== undefined && { defaultErrnoRet: profile.defaultErrnoRet }),
    ...(architectures.length > 0 && { architectures }),
    ...(profile.flags !== undefined && profile.flags.length > 0 && { flags: [...profile.flags] }),
    ...(profile.listenerPath !== undefined && { listenerPath: profile.listenerPath }),
    ...(profile.listenerMetadata !== undefined && { listenerMetadata: profile.listenerMetadata }),
    ...(syscalls.length > 0 && { syscalls }),
  };
}

/** Docker's default profile for a container with these capabilities on this host. */
export function defaultOciSeccomp(capabilities: readonly string[], arch: string, kernel: string): OciSeccomp {
  return ociSeccomp(DEFAULT_SECCOMP_PROFILE, { capabilities, arch, kernel });
}

function hostArchitectures(profile: SeccompProfile, arch: SeccompNativeArch | null): SeccompArch[] {
  const native = arch === null ? undefined : NATIVE_TO_SECCOMP[arch];
  const entry = native === undefined ? undefined : profile.archMap?.find((a) => a.architecture === native);
  return entry === undefined ? [] : [entry.architecture, ...entry.subArchitectures];
}

function capabilityName(cap: string): string {
  const upper = cap.toUpperCase();
  return upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
}

/**
 * Compares by major and minor only, as moby does: '4.8.0-1-amd64' is at least '4.8'. The release is
 * parsed only if a rule asks, so an odd release does not matter to profiles that never look at it.
 */
function kernelComparer(release: string): (min: string) => boolean {
  let host: [number, number] | null = null;
  return (min) => {
    host ??= majorMinor(release, 'kernel release');
    const want = majorMinor(min, 'minKernel');
    return host[0] !== want[0] ? host[0] > want[0] : host[1] >= want[1];
  };
}

function majorMinor(text: string, what: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(text);
  if (m?.[1] === undefined || m[2] === undefined) {
    throw new InvalidArgumentError(`${what} ${JSON.stringify(text)}: expected "<major>.<minor>..."`);
  }
  return [Number(m[1]), Number(m[2])];
}

function isEmpty<T>(xs: readonly T[] | undefined): xs is readonly [] | undefined {
  return xs === undefined || xs.length === 0;
}

function unique<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}
