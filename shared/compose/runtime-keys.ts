/**
 * The runtime keys of a service: cap_add, cap_drop, privileged, devices, sysctls, ulimits,
 * read_only, init, tmpfs, shm_size, stop_signal, security_opt, oom_score_adj, userns_mode. Each is
 * read as Docker reads it into RuntimeSettings (shared/types.ts); an invalid value is a problem
 * naming the key and its line, and the stack deploys nothing.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { capabilityName } from '../capabilities';
import { InvalidSeccompProfileError, parseSeccompProfile } from '../seccomp-profile';
import { isNamespacedSysctl, signalName, ULIMIT_NAMES } from '../runtime-names';
import { defaultRuntimeSettings, type DeviceMapping, type RuntimeSettings, type TmpfsMount, type Ulimit } from '../types';
import type { TreeNode } from './parse';
import type { Problems } from './problems';
import { describe } from './tree';
import { parseBytes, parseInteger } from './units';
import { yaml11Boolean } from './yaml11';

export const RUNTIME_KEYS = [
  'cap_add', 'cap_drop', 'privileged', 'devices', 'sysctls', 'ulimits', 'read_only', 'init', 'tmpfs', 'shm_size',
  'stop_signal', 'security_opt', 'oom_score_adj', 'userns_mode',
] as const;

export interface RuntimeKeyContext {
  problems: Problems;
  /** Folder of the stack file: a relative `seccomp=profile.json` is read from there. */
  dir: string;
  /** Reads a seccomp profile; null when it cannot be read. */
  readFile?: (path: string) => string | null;
}

const TMPFS_FLAGS = ['ro', 'rw', 'exec', 'noexec', 'suid', 'nosuid', 'dev', 'nodev'];

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

class RuntimeKeys {
  constructor(
    private readonly ctx: RuntimeKeyContext,
    private readonly path: string,
  ) {}

  private problem(key: string, message: string, line: number): void {
    this.ctx.problems.add(`${this.path}.${key}`, message, line);
  }

  private text(node: TreeNode): string | null {
    if (node.kind !== 'scalar' || node.value === null) return null;
    return typeof node.value === 'string' ? node.value : node.text;
  }

  /** YAML 1.1 spellings too (`read_only: yes`), as docker/cli reads boolean keys. */
  bool(node: TreeNode, key: string): boolean {
    const b = yaml11Boolean(node);
    if (b === null) this.problem(key, `must be true or false, got ${describe(node)}`, node.line);
    return b ?? false;
  }

  /** A string or a list of strings, each checked by `each`. */
  private list(node: TreeNode, key: string): { value: string; line: number; at: string }[] {
    const items = node.kind === 'seq' ? node.items : [node];
    const out: { value: string; line: number; at: string }[] = [];
    items.forEach((item, i) => {
      const v = this.text(item);
      const at = node.kind === 'seq' ? `${key}[${i}]` : key;
      if (v === null || item.kind !== 'scalar') this.problem(at, `must be a string, got ${describe(item)}`, item.line);
      else out.push({ value: v, line: item.line, at });
    });
    return out;
  }

  capabilities(node: TreeNode, key: string): string[] {
    const out: string[] = [];
    for (const { value, line, at } of this.list(node, key)) {
      const name = capabilityName(value);
      if (name === null) this.problem(at, `unknown capability ${JSON.stringify(value)}`, line);
      else if (!out.includes(name)) out.push(name);
    }
    return out;
  }

  /** `/dev/x`, `/dev/x:/dev/y`, `/dev/x:/dev/y:rwm`, `/dev/x:rw`, or {source, target, permissions}. */
  devices(node: TreeNode, key: string): DeviceMapping[] {
    const out: DeviceMapping[] = [];
    const items = node.kind === 'seq' ? node.items : [node];
    items.forEach((item, i) => {
      const at = `${key}[${i}]`;
      let host: string | null = null;
      let target: string | null = null;
      let perms = 'rwm';
      if (item.kind === 'map') {
        for (const e of item.entries) {
          const v = this.text(e.value);
          if (v === null) this.problem(`${at}.${e.key}`, `must be a string, got ${describe(e.value)}`, e.keyLine);
          else if (e.key === 'source') host = v;
          else if (e.key === 'target') target = v;
          else if (e.key === 'permissions') perms = v;
          else this.problem(`${at}.${e.key}`, 'unknown key', e.keyLine);
        }
      } else {
        const v = this.text(item);
        if (v === null) return this.problem(at, `must be a "HOST:CONTAINER[:PERMISSIONS]" string, got ${describe(item)}`, item.line);
        const parts = v.split(':');
        host = parts[0] ?? null;
        if (parts.length === 2 && /^[rwm]+$/.test(parts[1] ?? '')) perms = parts[1] ?? 'rwm';
        else if (parts.length >= 2) target = parts[1] ?? null;
        if (parts.length === 3) perms = parts[2] ?? '';
        if (parts.length > 3) return this.problem(at, `invalid device ${JSON.stringify(v)}: too many ":"`, item.line);
      }
      target = target ?? host;
      if (host === null || !host.startsWith('/')) return this.problem(at, `the host device must be an absolute path, got ${JSON.stringify(host ?? '')}`, item.line);
      if (target === null || !target.startsWith('/')) return this.problem(at, `the container path must be absolute, got ${JSON.stringify(target ?? '')}`, item.line);
      if (!/^[rwm]{1,3}$/.test(perms) || new Set(perms).size !== perms.length) return this.problem(at, `invalid permissions ${JSON.stringify(perms)}: a combination of r, w and m`, item.line);
      out.push({ pathOnHost: host, pathInContainer: target, permissions: perms });
    });
    return out;
  }

  /** A mapping or a list of `key=value`; only namespaced ones. */
  sysctls(node: TreeNode, key: string): Record<string, string> {
    const out: Record<string, string> = {};
    const add = (name: string, value: string, at: string, line: number): void => {
      if (!isNamespacedSysctl(name)) {
        this.problem(at, `sysctl ${JSON.stringify(name)} is not allowed: only namespaced ones (net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*)`, line);
        return;
      }
      out[name] = value;
    };
    if (node.kind === 'map') {
      for (const e of node.entries) {
        const v = this.text(e.value);
        if (v === null) this.problem(`${key}.${e.key}`, `must be a value, got ${describe(e.value)}`, e.keyLine);
        else add(e.key, v, `${key}.${e.key}`, e.keyLine);
      }
      return out;
    }
    for (const { value, line, at } of this.list(node, key)) {
      const eq = value.indexOf('=');
      if (eq <= 0) this.problem(at, `must be "name=value", got ${JSON.stringify(value)}`, line);
      else add(value.slice(0, eq).trim(), value.slice(eq + 1).trim(), at, line);
    }
    return out;
  }

  /** `nofile: 1024` or `nofile: {soft: 1024, hard: 2048}`. */
  ulimits(node: TreeNode, key: string): Ulimit[] {
    if (node.kind !== 'map') {
      this.problem(key, `must be a mapping of limit names to values, got ${describe(node)}`, node.line);
      return [];
    }
    const out: Ulimit[] = [];
    const int = (n: TreeNode, at: string, line: number): number | null => {
      const v = n.kind === 'scalar' && (typeof n.value === 'number' || typeof n.value === 'string') ? parseInteger(n.value) : null;
      if (v === null || v < -1) this.problem(at, `must be a non-negative integer (or -1 for unlimited), got ${describe(n)}`, line);
      return v === null || v < -1 ? null : v;
    };
    const unlimited = (v: number): number => (v === -1 ? 2 ** 53 - 1 : v);
    for (const e of node.entries) {
      const at = `${key}.${e.key}`;
      if (!ULIMIT_NAMES.includes(e.key)) {
        this.problem(at, `unknown ulimit ${JSON.stringify(e.key)} (one of ${ULIMIT_NAMES.join(', ')})`, e.keyLine);
        continue;
      }
      let soft: number | null = null;
      let hard: number | null = null;
      if (e.value.kind === 'map') {
        for (const f of e.value.entries) {
          if (f.key === 'soft') soft = int(f.value, `${at}.soft`, f.keyLine);
          else if (f.key === 'hard') hard = int(f.value, `${at}.hard`, f.keyLine);
          else this.problem(`${at}.${f.key}`, 'unknown key', f.keyLine);
        }
        const keys = e.value.entries.map((f) => f.key);
        if (!keys.includes('soft') || !keys.includes('hard')) {
          this.problem(at, 'needs both soft and hard', e.keyLine);
          continue;
        }
        if (soft === null || hard === null) continue; // reported above
      } else {
        soft = hard = int(e.value, at, e.keyLine);
        if (soft === null) continue;
      }
      if (unlimited(soft) > unlimited(hard as number)) {
        this.problem(at, `soft limit ${soft} is above the hard limit ${hard}`, e.keyLine);
        continue;
      }
      out.push({ name: e.key, soft: unlimited(soft), hard: unlimited(hard as number) });
    }
    return out;
  }

  /** `/run` or `/run:size=64m,mode=1770,exec`, or a list of them. */
  tmpfs(node: TreeNode, key: string): TmpfsMount[] {
    const out: TmpfsMount[] = [];
    for (const { value, line, at } of this.list(node, key)) {
      const colon = value.indexOf(':');
      const target = colon < 0 ? value : value.slice(0, colon);
      const mount: TmpfsMount = { target, sizeBytes: null, mode: null, options: [] };
      if (!target.startsWith('/') || target.split('/').includes('..')) {
        this.problem(at, `the tmpfs target must be an absolute path, got ${JSON.stringify(target)}`, line);
        continue;
      }
      let ok = true;
      for (const opt of colon < 0 ? [] : value.slice(colon + 1).split(',').filter((o) => o !== '')) {
        const [name, v] = opt.includes('=') ? [opt.slice(0, opt.indexOf('=')), opt.slice(opt.indexOf('=') + 1)] : [opt, null];
        if (name === 'size' && v !== null && parseBytes(v) !== null) mount.sizeBytes = parseBytes(v);
        else if (name === 'mode' && v !== null && /^[0-7]{3,4}$/.test(v)) mount.mode = parseInt(v, 8);
        else if (v === null && TMPFS_FLAGS.includes(name ?? '')) mount.options.push(name ?? '');
        else {
          this.problem(at, `invalid tmpfs option ${JSON.stringify(opt)} (size=BYTES, mode=OCTAL, ${TMPFS_FLAGS.join(', ')})`, line);
          ok = false;
        }
      }
      if (ok) out.push(mount);
    }
    return out;
  }

  bytes(node: TreeNode, key: string): number | null {
    const v = node.kind === 'scalar' && (typeof node.value === 'number' || typeof node.value === 'string') ? parseBytes(node.value) : null;
    if (v === null || v <= 0) this.problem(key, `must be a size such as 64m, got ${describe(node)}`, node.line);
    return v !== null && v > 0 ? v : null;
  }

  signal(node: TreeNode, key: string): string | null {
    const t = this.text(node);
    const name = t === null ? null : signalName(t);
    if (name === null) this.problem(key, `unknown signal ${describe(node)}`, node.line);
    return name;
  }

  oomScoreAdj(node: TreeNode, key: string): number | null {
    const v = node.kind === 'scalar' && (typeof node.value === 'number' || typeof node.value === 'string') ? parseInteger(node.value) : null;
    if (v === null || v < -1000 || v > 1000) {
      this.problem(key, `must be an integer from -1000 to 1000, got ${describe(node)}`, node.line);
      return null;
    }
    return v;
  }

  /** `no-new-privileges[:true|=true]`, `seccomp=unconfined|PROFILE.json`; apparmor/label only where they change nothing here. */
  securityOpt(node: TreeNode, key: string, r: RuntimeSettings): void {
    for (const { value, line, at } of this.list(node, key)) {
      const sep = value.search(/[=:]/);
      const name = sep < 0 ? value : value.slice(0, sep);
      const arg = sep < 0 ? null : value.slice(sep + 1);
      if (name === 'no-new-privileges') {
        if (arg !== null && arg !== 'true' && arg !== 'false') this.problem(at, `invalid no-new-privileges value ${JSON.stringify(arg)}: true or false`, line);
        else r.noNewPrivileges = arg !== 'false';
      } else if (name === 'seccomp' && arg === 'unconfined') {
        r.seccomp = { mode: 'unconfined', profile: null };
      } else if (name === 'seccomp' && arg !== null && arg !== '') {
        const file = isAbsolute(arg) ? arg : resolve(this.ctx.dir, arg);
        const text = (this.ctx.readFile ?? readOrNull)(file);
        if (text === null) {
          this.problem(at, `cannot read seccomp profile ${arg}`, line);
          continue;
        }
        try {
          parseSeccompProfile(text, arg);
          r.seccomp = { mode: 'custom', profile: text };
        } catch (e) {
          if (!(e instanceof InvalidSeccompProfileError)) throw e;
          this.problem(at, e.message, line);
        }
      } else if ((name === 'apparmor' && arg === 'unconfined') || (name === 'label' && arg === 'disable')) {
        // Nothing to loosen: tsswarm applies neither AppArmor nor SELinux labels.
      } else {
        this.problem(at, `unsupported security option ${JSON.stringify(value)} (no-new-privileges, seccomp=unconfined, seccomp=PROFILE.json)`, line);
      }
    }
  }
}

/** The service's runtime keys, `field(key)` giving each key's value node (null when absent). */
export function runtimeSettings(field: (key: string) => TreeNode | null, path: string, ctx: RuntimeKeyContext): RuntimeSettings {
  const k = new RuntimeKeys(ctx, path);
  const r = defaultRuntimeSettings();
  const at = (key: string, read: (node: TreeNode) => void): void => {
    const node = field(key);
    if (node !== null) read(node);
  };
  at('cap_add', (n) => (r.capAdd = k.capabilities(n, 'cap_add')));
  at('cap_drop', (n) => (r.capDrop = k.capabilities(n, 'cap_drop')));
  at('privileged', (n) => (r.privileged = k.bool(n, 'privileged')));
  at('devices', (n) => (r.devices = k.devices(n, 'devices')));
  at('sysctls', (n) => (r.sysctls = k.sysctls(n, 'sysctls')));
  at('ulimits', (n) => (r.ulimits = k.ulimits(n, 'ulimits')));
  at('read_only', (n) => (r.readOnly = k.bool(n, 'read_only')));
  at('init', (n) => (r.init = k.bool(n, 'init')));
  at('tmpfs', (n) => (r.tmpfs = k.tmpfs(n, 'tmpfs')));
  at('shm_size', (n) => (r.shmSizeBytes = k.bytes(n, 'shm_size')));
  at('stop_signal', (n) => (r.stopSignal = k.signal(n, 'stop_signal')));
  at('security_opt', (n) => k.securityOpt(n, 'security_opt', r));
  at('oom_score_adj', (n) => (r.oomScoreAdj = k.oomScoreAdj(n, 'oom_score_adj')));
  at('userns_mode', (n) => {
    if (n.kind === 'scalar' && n.value === 'host') r.usernsMode = 'host';
    else ctx.problems.add(`${path}.userns_mode`, `must be "host", got ${describe(n)}`, n.line);
  });
  return r;
}
