/**
 * A service's `build:` (compose's build specification): a context path, or a mapping of
 * `context`, `dockerfile`, `args` (map or `K=V` list), `target`, `network`, `no_cache`. Paths are
 * relative to the stack file's folder. What BuildKit alone knows (cache_from, secrets, ssh, ...)
 * is ignored with a warning.
 */
import { resolve } from 'node:path';
import type { StackBuild } from '../types';
import type { TreeNode } from './parse';
import type { Reader } from './reader';
import { BUILD } from './schema';
import { describe } from './tree';

export function buildOf(r: Reader, node: TreeNode | null, path: string, service: string, image: string): StackBuild | null {
  if (node === null) return null;
  const dir = r.opts.dir;
  const base: StackBuild = { service, image, context: dir, dockerfile: null, args: {}, target: null, network: null, noCache: false };
  if (node.kind === 'scalar') {
    const context = r.string(node, path);
    return context === null ? null : { ...base, context: resolve(dir, context) };
  }
  const map = r.mapping(node, path);
  if (map === null) return null;
  const f = r.fields(map, BUILD, path, r.ignoredService, 'build.');
  const context = r.optionalString(f.get('context'), `${path}.context`);
  const dockerfile = r.optionalString(f.get('dockerfile'), `${path}.dockerfile`);
  const network = r.optionalString(f.get('network'), `${path}.network`);
  if (network !== null && !['default', 'host', 'none'].includes(network)) {
    r.problem(`${path}.network`, `must be default, host or none, got ${describe(f.get('network')!)}`, f.get('network')!.line);
  }
  return {
    ...base,
    context: context === null ? dir : resolve(dir, context),
    dockerfile,
    args: r.labels(f.get('args'), `${path}.args`),
    target: r.optionalString(f.get('target'), `${path}.target`),
    network: network === 'host' || network === 'none' ? network : null,
    noCache: r.boolean(f.get('no_cache'), `${path}.no_cache`) ?? false,
  };
}

/** Compose's name for a built image without `image:`: `<project>-<service>`, lower-cased. */
export function builtImageName(stack: string, service: string): string {
  return `${stack}-${service}`.toLowerCase() + ':latest';
}
