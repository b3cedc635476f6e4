/**
 * Docker's seccomp profile format: what `docker run --security-opt seccomp=profile.json` reads.
 * It is the runtime-spec `linux.seccomp` object plus conditions (capabilities, architecture,
 * kernel) that are resolved per container before anything reaches the runtime; that resolution
 * lives in agent/runtime/oci/seccomp.ts.
 *
 * The parser is stricter than Docker's (Go's json.Unmarshal ignores unknown fields and accepts any
 * string for an action): a typo in a security profile should stop the deploy with the field named,
 * not produce a filter that silently differs from what the user wrote. It stays compatible with
 * profiles Docker writes or accepts: `null` for an absent optional field, the old single `name`.
 */
import { TsswarmError } from './errors';

export const SECCOMP_ACTIONS = [
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_LOG',
  'SCMP_ACT_NOTIFY',
] as const;
export type SeccompAction = (typeof SECCOMP_ACTIONS)[number];

/** The actions whose return value carries data; `errnoRet` means nothing for the others. */
const ERRNO_ACTIONS: readonly SeccompAction[] = ['SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE'];

export const SECCOMP_OPS = [
  'SCMP_CMP_NE',
  'SCMP_CMP_LT',
  'SCMP_CMP_LE',
  'SCMP_CMP_EQ',
  'SCMP_CMP_GE',
  'SCMP_CMP_GT',
  'SCMP_CMP_MASKED_EQ',
] as const;
export type SeccompOp = (typeof SECCOMP_OPS)[number];

/** libseccomp's architecture tokens, as `architectures` and `archMap` name them. */
export const SECCOMP_ARCHES = [
  'SCMP_ARCH_X86',
  'SCMP_ARCH_X86_64',
  'SCMP_ARCH_X32',
  'SCMP_ARCH_ARM',
  'SCMP_ARCH_AARCH64',
  'SCMP_ARCH_MIPS',
  'SCMP_ARCH_MIPS64',
  'SCMP_ARCH_MIPS64N32',
  'SCMP_ARCH_MIPSEL',
  'SCMP_ARCH_MIPSEL64',
  'SCMP_ARCH_MIPSEL64N32',
  'SCMP_ARCH_PPC',
  'SCMP_ARCH_PPC64',
  'SCMP_ARCH_PPC64LE',
  'SCMP_ARCH_S390',
  'SCMP_ARCH_S390X',
  'SCMP_ARCH_PARISC',
  'SCMP_ARCH_PARISC64',
  'SCMP_ARCH_RISCV64',
  'SCMP_ARCH_LOONGARCH64',
] as const;
export type SeccompArch = (typeof SECCOMP_ARCHES)[number];

/**
 * libseccomp's short architecture names, which `includes.arches` / `excludes.arches` compare
 * with the host's (Docker's profile says `amd64`, not `SCMP_ARCH_X86_64`, there).
 */
export const SECCOMP_NATIVE_ARCHES = [
  'x86',
  'amd64',
  'x32',
  'arm',
  'arm64',
  'mips',
  'mips64',
  'mips64n32',
  'mipsel',
  'mipsel64',
  'mipsel64n32',
  'ppc',
  'ppc64',
  'ppc64le',
  's390',
  's390x',
  'parisc',
  'parisc64',
  'riscv64',
  'loongarch64',
] as const;
export type SeccompNativeArch = (typeof SECCOMP_NATIVE_ARCHES)[number];

export const SECCOMP_FLAGS = [
  'SECCOMP_FILTER_FLAG_TSYNC',
  'SECCOMP_FILTER_FLAG_LOG',
  'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
  'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV',
] as const;
export type SeccompFlag = (typeof SECCOMP_FLAGS)[number];

/** One comparison of a syscall argument; for MASKED_EQ `value` is the mask and `valueTwo` the expected result. */
export interface SeccompArg {
  readonly index: number;
  readonly value: number;
  readonly valueTwo?: number;
  readonly op: SeccompOp;
}

/** When a rule applies: every condition given must hold (see agent/runtime/oci/seccomp.ts). */
export interface SeccompCondition {
  readonly caps?: readonly string[];
  readonly arches?: readonly SeccompNativeArch[];
  /** `<major>.<minor>`, e.g. "4.8"; patch level and suffixes of the host's release are ignored. */
  readonly minKernel?: string;
}

export interface SeccompRule {
  /** Always `names`: the parser turns the old single `name` into a one-element list. */
  readonly names: readonly string[];
  readonly action: SeccompAction;
  readonly errnoRet?: number;
  /** Comparisons of different arguments must all hold; several on one argument are alternatives (as in runc). */
  readonly args?: readonly SeccompArg[];
  readonly comment?: string;
  /** The rule is kept only if all of these hold. */
  readonly includes?: SeccompCondition;
  /** The rule is dropped if any of these holds. */
  readonly excludes?: SeccompCondition;
}

export interface SeccompArchMapEntry {
  readonly architecture: SeccompArch;
  /** Also filtered when `architecture` is the host's (e.g. 32-bit x86 binaries on x86_64). */
  readonly subArchitectures: readonly SeccompArch[];
}

export interface SeccompProfile {
  readonly defaultAction: SeccompAction;
  readonly defaultErrnoRet?: number;
  /** Fixed list of architectures; a profile has this or `archMap`, not both. */
  readonly architectures?: readonly SeccompArch[];
  /** Architectures chosen by the host's: the entry for it, with its sub-architectures. */
  readonly archMap?: readonly SeccompArchMapEntry[];
  readonly syscalls: readonly SeccompRule[];
  readonly flags?: readonly SeccompFlag[];
  /** Unix socket that receives the notify fd when a rule uses SCMP_ACT_NOTIFY. */
  readonly listenerPath?: string;
  readonly listenerMetadata?: string;
}

/** A user-supplied seccomp profile cannot be used; `field` is the JSON path of the fault, null for the document. */
export class InvalidSeccompProfileError extends TsswarmError {
  readonly code = 'INVALID_SECCOMP_PROFILE';
  constructor(
    readonly source: string,
    readonly field: string | null,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(`seccomp profile ${source}: ${field === null ? '' : `${field}: `}${problem}`, options);
  }
}

/** Parses and checks a profile in Docker's JSON format; `source` names it in errors (a path, usually). */
export function parseSeccompProfile(text: string, source: string): SeccompProfile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    // V8 quotes the offending text, newlines included; the message must stay one line.
    const reason = (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ');
    throw new InvalidSeccompProfileError(source, null, `invalid JSON: ${reason}`, { cause: e });
  }
  return new ProfileReader(source).profile(doc);
}

const MAX_ERRNO = 0xffff; // seccomp's return data is 16 bits
const MAX_ARG_INDEX = 5; // syscalls take at most six arguments
const SYSCALL_NAME = /^[a-z_][a-z0-9_]*$/;
const CAPABILITY = /^CAP_[A-Z0-9_]+$/;
const KERNEL_VERSION = /^(\d+)\.(\d+)$/;

type JsonObject = Record<string, unknown>;

/** Walks the parsed JSON, carrying the path of what it reads so every complaint names its field. */
class ProfileReader {
  constructor(private readonly source: string) {}

  profile(doc: unknown): SeccompProfile {
    const o = this.object(doc, '', [
      'defaultAction',
      'defaultErrnoRet',
      'architectures',
      'archMap',
      'syscalls',
      'flags',
      'listenerPath',
      'listenerMetadata',
    ]);
    const defaultAction = this.oneOf(this.required(o, '', 'defaultAction'), 'defaultAction', SECCOMP_ACTIONS, 'action');
    const defaultErrnoRet = this.errno(o, '', 'defaultErrnoRet', defaultAction);
    const architectures = this.list(o, '', 'architectures', (v, p) => this.oneOf(v, p, SECCOMP_ARCHES, 'architecture'));
    const archMap = this.list(o, '', 'archMap', (v, p) => this.archMapEntry(v, p));
    if (architectures !== undefined && architectures.length > 0 && archMap !== undefined && archMap.length > 0) {
      this.fail('archMap', 'cannot be combined with "architectures"; use one of them');
    }
    const syscalls = this.list(o, '', 'syscalls', (v, p) => this.rule(v, p)) ?? [];
    const flags = this.list(o, '', 'flags', (v, p) => this.oneOf(v, p, SECCOMP_FLAGS, 'flag'));
    const listenerPath = this.optionalString(o, '', 'listenerPath');
    const listenerMetadata = this.optionalString(o, '', 'listenerMetadata');
    if (listenerMetadata !== undefined && listenerPath === undefined) {
      this.fail('listenerMetadata', 'needs "listenerPath"');
    }
    return {
      defaultAction,
      ...(defaultErrnoRet !== undefined && { defaultErrnoRet }),
      ...(architectures !== undefined && { architectures }),
      ...(archMap !== undefined && { archMap }),
      syscalls,
      ...(flags !== undefined && { flags }),
      ...(listenerPath !== undefined && { listenerPath }),
      ...(listenerMetadata !== undefined && { listenerMetadata }),
    };
  }

  private archMapEntry(v: unknown, path: string): SeccompArchMapEntry {
    const o = this.object(v, path, ['architecture', 'subArchitectures']);
    const architecture = this.oneOf(
      this.required(o, path, 'architecture'),
      join(path, 'architecture'),
      SECCOMP_ARCHES,
      'architecture',
    );
    const subArchitectures =
      this.list(o, path, 'subArchitectures', (s, p) => this.oneOf(s, p, SECCOMP_ARCHES, 'architecture')) ?? [];
    return { architecture, subArchitectures };
  }

  private rule(v: unknown, path: string): SeccompRule {
    const o = this.object(v, path, ['names', 'name', 'action', 'errnoRet', 'args', 'comment', 'includes', 'excludes']);
    const list = this.list(o, path, 'names', (n, p) => this.syscallName(n, p));
    const single = o['name'] === undefined || o['name'] === null ? undefined : this.syscallName(o['name'], join(path, 'name'));
    if (list !== undefined && list.length > 0 && single !== undefined) {
      this.fail(join(path, 'name'), 'cannot be combined with "names"');
    }
    const names = single !== undefined ? [single] : (list ?? this.fail(join(path, 'names'), 'required'));
    const action = this.oneOf(this.required(o, path, 'action'), join(path, 'action'), SECCOMP_ACTIONS, 'action');
    const errnoRet = this.errno(o, path, 'errnoRet', action);
    const args = this.list(o, path, 'args', (a, p) => this.arg(a, p));
    const comment = this.optionalString(o, path, 'comment');
    const includes = this.condition(o, path, 'includes');
    const excludes = this.condition(o, path, 'excludes');
    return {
      names,
      action,
      ...(errnoRet !== undefined && { errnoRet }),
      ...(args !== undefined && args.length > 0 && { args }),
      ...(comment !== undefined && comment !== '' && { comment }),
      ...(includes !== undefined && { includes }),
      ...(excludes !== undefined && { excludes }),
    };
  }

  private syscallName(v: unknown, path: string): string {
    const name = this.string(v, path);
    if (!SYSCALL_NAME.test(name)) this.fail(path, `${JSON.stringify(name)} is not a syscall name`);
    return name;
  }

  private arg(v: unknown, path: string): SeccompArg {
    const o = this.object(v, path, ['index', 'value', 'valueTwo', 'op']);
    const index = this.uint(this.required(o, path, 'index'), join(path, 'index'), MAX_ARG_INDEX);
    const value = this.uint(this.required(o, path, 'value'), join(path, 'value'), Number.MAX_SAFE_INTEGER);
    const rawTwo = o['valueTwo'];
    const valueTwo =
      rawTwo === undefined || rawTwo === null
        ? undefined
        : this.uint(rawTwo, join(path, 'valueTwo'), Number.MAX_SAFE_INTEGER);
    const op = this.oneOf(this.required(o, path, 'op'), join(path, 'op'), SECCOMP_OPS, 'op');
    return { index, value, ...(valueTwo !== undefined && { valueTwo }), op };
  }

  private condition(parent: JsonObject, parentPath: string, key: string): SeccompCondition | undefined {
    const v = parent[key];
    if (v === undefined || v === null) return undefined;
    const path = join(parentPath, key);
    const o = this.object(v, path, ['caps', 'arches', 'minKernel']);
    const caps = this.list(o, path, 'caps', (c, p) => {
      const cap = this.string(c, p);
      if (!CAPABILITY.test(cap)) this.fail(p, `${JSON.stringify(cap)} is not a capability name (like "CAP_SYS_ADMIN")`);
      return cap;
    });
    const arches = this.list(o, path, 'arches', (a, p) => this.oneOf(a, p, SECCOMP_NATIVE_ARCHES, 'architecture'));
    const kernel = this.optionalString(o, path, 'minKernel');
    // Docker reads an empty minKernel as no condition.
    const minKernel = kernel === undefined || kernel === '' ? undefined : this.kernelVersion(kernel, join(path, 'minKernel'));
    const out: SeccompCondition = {
      ...(caps !== undefined && caps.length > 0 && { caps }),
      ...(arches !== undefined && arches.length > 0 && { arches }),
      ...(minKernel !== undefined && { minKernel }),
    };
    return Object.keys(out).length > 0 ? out : undefined;
  }

  private kernelVersion(text: string, path: string): string {
    const m = KERNEL_VERSION.exec(text);
    const major = m?.[1] === undefined ? NaN : Number(m[1]);
    const minor = m?.[2] === undefined ? NaN : Number(m[2]);
    if (!(major <= 255 && minor <= 255) || (major === 0 && minor === 0)) {
      this.fail(path, `${JSON.stringify(text)} is not a kernel version "<major>.<minor>" (like "4.8")`);
    }
    return text;
  }

  private errno(o: JsonObject, path: string, key: string, action: SeccompAction): number | undefined {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    const errno = this.uint(v, join(path, key), MAX_ERRNO);
    if (!ERRNO_ACTIONS.includes(action)) {
      this.fail(join(path, key), `only SCMP_ACT_ERRNO and SCMP_ACT_TRACE return a value, not ${action}`);
    }
    return errno;
  }

  // --- JSON shapes ---

  private object(v: unknown, path: string, known: readonly string[]): JsonObject {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(path || null, `expected an object, got ${kind(v)}`);
    const o = v as JsonObject;
    for (const key of Object.keys(o)) {
      if (!known.includes(key)) this.fail(join(path, key), 'unknown field');
    }
    return o;
  }

  private required(o: JsonObject, path: string, key: string): unknown {
    const v = o[key];
    if (v === undefined || v === null) this.fail(join(path, key), 'required');
    return v;
  }

  private list<T>(o: JsonObject, path: string, key: string, item: (v: unknown, path: string) => T): T[] | undefined {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    const p = join(path, key);
    if (!Array.isArray(v)) this.fail(p, `expected an array, got ${kind(v)}`);
    return v.map((x: unknown, i) => item(x, `${p}[${i}]`));
  }

  private string(v: unknown, path: string): string {
    if (typeof v !== 'string') this.fail(path, `expected a string, got ${kind(v)}`);
    return v;
  }

  private optionalString(o: JsonObject, path: string, key: string): string | undefined {
    const v = o[key];
    return v === undefined || v === null ? undefined : this.string(v, join(path, key));
  }

  private uint(v: unknown, path: string, max: number): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
      this.fail(path, `expected a non-negative integer, got ${typeof v === 'number' ? String(v) : kind(v)}`);
    }
    // JSON numbers past 2^53 have already been rounded by JSON.parse: refuse rather than filter on another value.
    if (v > max) this.fail(path, `${v} is out of range (at most ${max})`);
    return v;
  }

  private oneOf<T extends string>(v: unknown, path: string, allowed: readonly T[], what: string): T {
    const s = this.string(v, path);
    if (!(allowed as readonly string[]).includes(s)) this.fail(path, `unknown ${what} ${JSON.stringify(s)}`);
    return s as T;
  }

  private fail(field: string | null, problem: string): never {
    throw new InvalidSeccompProfileError(this.source, field, problem);
  }
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return typeof v;
}
