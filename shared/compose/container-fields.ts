/**
 * The plain keys of a service's container: image, command, entrypoint, working_dir, hostname,
 * stop_grace_period, dns, extra_hosts. Each reader records its problems and returns a default.
 */
import { DEFAULT_STOP_GRACE_PERIOD_MS } from '../task-spec';
import { parseHostsAddress, parseIpv4 } from './addresses';
import { normalizeImageRef } from './image-ref';
import { isDnsName } from './names';
import type { TreeNode } from './parse';
import type { Reader } from './reader';
import { ShellSplitError, shellSplit } from './shell-split';
import { templateProblem, withStandIns } from './templates';
import { describe } from './tree';

/** Names in /etc/hosts entries: letters, digits and the usual separators, no spaces or colons. */
const HOSTS_NAME = /^[a-zA-Z0-9_](?:[a-zA-Z0-9_.-]*[a-zA-Z0-9_])?$/;

export function image(r: Reader, node: TreeNode | null, servicePath: string, serviceLine: number): string | null {
  if (node === null) {
    r.problem(servicePath, 'missing required key "image" (or "build")', serviceLine);
    return null;
  }
  const ref = r.string(node, `${servicePath}.image`);
  if (ref === null) return null;
  const normalized = normalizeImageRef(ref);
  if (!normalized.ok) {
    r.problem(`${servicePath}.image`, `invalid image reference ${JSON.stringify(ref)}: ${normalized.reason}`, node.line);
    return null;
  }
  return normalized.ref;
}

/** `command` / `entrypoint`: a string split like a shell would, or a list of strings. */
export function words(r: Reader, node: TreeNode | null, path: string): string[] | null {
  if (node === null) return null;
  if (node.kind === 'scalar' && typeof node.value === 'string') {
    try {
      return shellSplit(node.value);
    } catch (e) {
      if (!(e instanceof ShellSplitError)) throw e;
      r.problem(path, `cannot split ${JSON.stringify(node.value)} into words: ${e.message}`, node.line);
      return null;
    }
  }
  if (node.kind === 'seq') {
    const out: string[] = [];
    node.items.forEach((item, i) => {
      if (item.kind === 'scalar' && typeof item.value === 'string') out.push(item.value);
      else r.problem(`${path}[${i}]`, `must be a string, got ${describe(item)} (quote it)`, item.line);
    });
    return out;
  }
  r.problem(path, `must be a string or a list of strings, got ${describe(node)}`, node.line);
  return null;
}

export function workingDir(r: Reader, node: TreeNode | null, path: string): string | null {
  const dir = r.optionalString(node, path);
  if (dir !== null && !dir.startsWith('/') && node) {
    // The runtime resolves it inside the container's root, where no "current directory" exists.
    r.problem(path, `must be an absolute path, got ${JSON.stringify(dir)}`, node.line);
    return null;
  }
  return dir;
}

/**
 * A hostname, which may hold Swarm's placeholders (`{{.Node.Hostname}}-kibana`): those are checked
 * to be ones Swarm knows, and the name is validated with a stand-in label for each.
 */
export function hostname(r: Reader, node: TreeNode | null, path: string): string | null {
  const name = r.optionalString(node, path);
  if (name === null || !node) return null;
  const template = templateProblem(name);
  if (template !== null) {
    r.problem(path, template, node.line);
    return null;
  }
  // sethostname(2) takes at most 64 bytes; the label rule keeps it resolvable.
  if (!isDnsName(withStandIns(name))) {
    r.problem(path, `invalid hostname ${JSON.stringify(name)}: use letters, digits, "-" and ".", at most 63 characters`, node.line);
    return null;
  }
  return name;
}

export function stopGracePeriod(r: Reader, node: TreeNode | null, path: string): number {
  if (node === null) return DEFAULT_STOP_GRACE_PERIOD_MS;
  return r.duration(node, path) ?? DEFAULT_STOP_GRACE_PERIOD_MS;
}

/** `dns: 10.0.0.2` or a list of IPv4 addresses. */
export function dns(r: Reader, node: TreeNode | null, path: string): string[] {
  if (node === null) return [];
  const address = (n: TreeNode, p: string): string | null => {
    if (n.kind === 'scalar' && typeof n.value === 'string' && parseIpv4(n.value) !== null) return n.value;
    r.problem(p, `must be an IPv4 address such as 10.0.0.2, got ${describe(n)}`, n.line);
    return null;
  };
  if (node.kind === 'seq') {
    return node.items.map((item, i) => address(item, `${path}[${i}]`)).filter((a): a is string => a !== null);
  }
  if (node.kind === 'map') {
    r.problem(path, `must be an IPv4 address or a list of them, got ${describe(node)}`, node.line);
    return [];
  }
  const one = address(node, path);
  return one === null ? [] : [one];
}

/** `dns_search: example.com` or a list of domains, in file order, duplicates dropped. */
export function dnsSearch(r: Reader, node: TreeNode | null, path: string): string[] {
  if (node === null) return [];
  const out: string[] = [];
  const add = (n: TreeNode, p: string): void => {
    const text = n.kind === 'scalar' && typeof n.value === 'string' ? n.value.trim().replace(/\.$/, '') : null;
    if (text === null || text === '' || !/^[a-zA-Z0-9_](?:[a-zA-Z0-9_.-]*[a-zA-Z0-9_])?$/.test(text)) {
      r.problem(p, `must be a domain name such as example.com, got ${describe(n)}`, n.line);
    } else if (!out.includes(text)) out.push(text);
  };
  if (node.kind === 'seq') node.items.forEach((item, i) => add(item, `${path}[${i}]`));
  else if (node.kind === 'map') r.problem(path, `must be a domain or a list of domains, got ${describe(node)}`, node.line);
  else add(node, path);
  return out;
}

/** `["host:ip", "host=ip"]` or `{host: ip}` → `host:ip`, in file order. */
export function extraHosts(r: Reader, node: TreeNode | null, path: string): string[] {
  if (node === null) return [];
  const out: string[] = [];
  const add = (host: string, address: string, p: string, line: number): void => {
    if (!HOSTS_NAME.test(host)) {
      r.problem(p, `invalid host name ${JSON.stringify(host)}`, line);
      return;
    }
    if (address === 'host-gateway') {
      r.problem(p, 'the special address host-gateway is not supported; give an IP address', line);
      return;
    }
    const ip = parseHostsAddress(address);
    if (ip === null) r.problem(p, `invalid IP address ${JSON.stringify(address)} for host ${host}`, line);
    else out.push(`${host}:${ip}`);
  };
  if (node.kind === 'seq') {
    node.items.forEach((item, i) => {
      const p = `${path}[${i}]`;
      const text = item.kind === 'scalar' && typeof item.value === 'string' ? item.value : null;
      // `=` first, as compose: `host:ip` is ambiguous with IPv6 addresses, `host=ip` is not.
      const sep = text === null ? -1 : text.includes('=') ? text.indexOf('=') : text.indexOf(':');
      if (text === null || sep < 0) {
        r.problem(p, `must be a "host:ip" or "host=ip" string, got ${describe(item)}`, item.line);
        return;
      }
      add(text.slice(0, sep), text.slice(sep + 1), p, item.line);
    });
  } else if (node.kind === 'map') {
    for (const e of node.entries) {
      const v = e.value;
      if (v.kind === 'scalar' && typeof v.value === 'string') add(e.key, v.value, `${path}.${e.key}`, e.keyLine);
      else r.problem(`${path}.${e.key}`, `must be an IP address, got ${describe(v)}`, e.keyLine);
    }
  } else {
    r.problem(path, `must be a list of "host:ip" strings or a mapping, got ${describe(node)}`, node.line);
  }
  return out;
}
