/**
 * A service's `networks`: the overlay networks it joins with their aliases, or its host's network
 * (Docker's predefined `host` network), which excludes every other.
 */
import type { ServiceNetwork } from '../types';
import { isDnsName } from './names';
import { DEFAULT_NETWORK, isHostNetwork, type NetworkTable } from './networks';
import type { TreeNode } from './parse';
import type { Reader } from './reader';
import { SERVICE_NETWORK } from './schema';
import { describe, isNull } from './tree';

export interface ServiceNetworks {
  networks: ServiceNetwork[];
  /** The service joins the host network: no overlay networks, no implicit default. */
  hostNetwork: boolean;
  /** It joins `default` while the file does not define it, so the stack must create it. */
  usesImplicitDefault: boolean;
}

/**
 * `[front, back]` or `{front: {aliases: [a]}, back: null}`; no networks (or
 * an empty list) means `default`, as in compose.
 */
export function serviceNetworks(r: Reader, node: TreeNode | null, path: string, stack: string, table: NetworkTable): ServiceNetworks {
  const result: ServiceNetworks = { networks: [], hostNetwork: false, usesImplicitDefault: false };
  const wanted: { key: string; aliases: string[]; line: number }[] = [];
  if (node === null) {
    // joins default below
  } else if (node.kind === 'seq') {
    node.items.forEach((item, i) => {
      if (item.kind !== 'scalar' || typeof item.value !== 'string') {
        r.problem(`${path}[${i}]`, `must be a network name, got ${describe(item)}`, item.line);
      } else if (wanted.some((w) => w.key === item.value)) {
        r.problem(`${path}[${i}]`, `network ${JSON.stringify(item.value)} is listed twice`, item.line);
      } else {
        wanted.push({ key: item.value, aliases: [], line: item.line });
      }
    });
  } else if (node.kind === 'map') {
    for (const e of node.entries) {
      wanted.push({ key: e.key, aliases: networkOptions(r, e.value, `${path}.${e.key}`), line: e.keyLine });
    }
  } else {
    r.problem(path, `must be a list of network names or a mapping, got ${describe(node)}`, node.line);
    return result;
  }
  if (wanted.length === 0) wanted.push({ key: DEFAULT_NETWORK, aliases: [], line: node?.line ?? 0 });

  const overlays: { key: string; line: number }[] = [];
  let host: { key: string; line: number } | null = null;
  for (const w of wanted) {
    const declared = table.get(w.key);
    if (declared === null) continue; // its definition is broken, and reported
    if (declared === undefined && w.key !== DEFAULT_NETWORK) {
      r.problem(path, `undefined network ${JSON.stringify(w.key)}`, w.line);
      continue;
    }
    if (declared !== undefined && isHostNetwork(declared)) {
      host = { key: w.key, line: w.line };
      continue;
    }
    if (declared === undefined) result.usesImplicitDefault = true;
    overlays.push({ key: w.key, line: w.line });
    result.networks.push({ target: declared?.spec.name ?? `${stack}_${DEFAULT_NETWORK}`, aliases: w.aliases });
  }
  if (host !== null) {
    if (overlays.length > 0) {
      // Docker's rule: a task in its host's namespace has no endpoint on any other network.
      const others = overlays.map((o) => o.key).join(', ');
      r.problem(path, `network ${host.key} is the host network, which cannot be combined with other networks (${others})`, host.line);
    }
    return { networks: [], hostNetwork: true, usesImplicitDefault: false };
  }
  return result;
}

/** The options of one network in the long form; returns its aliases. */
function networkOptions(r: Reader, node: TreeNode, path: string): string[] {
  if (isNull(node)) return [];
  if (node.kind !== 'map') {
    r.problem(path, `must be a mapping, got ${describe(node)}`, node.line);
    return [];
  }
  const f = r.fields(node, SERVICE_NETWORK, path, r.ignoredService, 'networks.');
  const entry = f.entry('aliases');
  if (!entry) return [];
  const aliasesPath = `${path}.aliases`;
  if (entry.value.kind !== 'seq') {
    r.problem(aliasesPath, `must be a list of names, got ${describe(entry.value)}`, entry.keyLine);
    return [];
  }
  const aliases: string[] = [];
  entry.value.items.forEach((item, i) => {
    const text = item.kind === 'scalar' && typeof item.value === 'string' ? item.value : null;
    if (text === null || !isDnsName(text)) {
      r.problem(`${aliasesPath}[${i}]`, `invalid alias ${describe(item)}: use letters, digits, "-" and ".", at most 63 characters`, item.line);
    } else if (!aliases.includes(text)) {
      aliases.push(text);
    }
  });
  return aliases;
}
