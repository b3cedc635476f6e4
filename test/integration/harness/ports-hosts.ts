/**
 * Three test "hosts" for the published-ports test: network namespaces `<tag>-h1..h3` under
 * /run/netns, each with a veth `u<n>` (10.213.0.<n>/24) whose other end sits on a bridge in a
 * fourth namespace `<tag>-sw` (the test's switch: nothing is added to the machine's own namespace).
 * A HostNetwork runs in the shared helper process (host-network-helper.ts) inside a host namespace.
 */
import { execFileSync } from 'node:child_process';
import type { HostNetworkOptions } from '../../../agent/network/types';
import { HostAgent } from './netns-hosts';

export interface NsHost {
  /** Name under /run/netns. */
  name: string;
  nsPath: string;
  underlayAddr: string;
  /** Underlay link inside the namespace. */
  dev: string;
}

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function switchName(tag: string): string {
  return `${tag}-sw`;
}

/** Creates the switch and three hosts; on a failure half-way removes what it made and rethrows. */
export function createThreeHosts(tag: string): [NsHost, NsHost, NsHost] {
  const hosts = [1, 2, 3].map((n) => ({ name: `${tag}-h${n}`, nsPath: `/run/netns/${tag}-h${n}`, underlayAddr: `10.213.0.${n}`, dev: `u${n}` })) as [NsHost, NsHost, NsHost];
  const sw = switchName(tag);
  try {
    ip('netns', 'add', sw);
    ip('-n', sw, 'link', 'add', 'sw', 'type', 'bridge');
    ip('-n', sw, 'link', 'set', 'sw', 'up');
    hosts.forEach((h, i) => {
      ip('netns', 'add', h.name);
      ip('-n', sw, 'link', 'add', `p${i + 1}`, 'master', 'sw', 'up', 'type', 'veth', 'peer', 'name', h.dev, 'netns', h.name);
      ip('-n', h.name, 'addr', 'add', `${h.underlayAddr}/24`, 'dev', h.dev);
      ip('-n', h.name, 'link', 'set', h.dev, 'up');
      ip('-n', h.name, 'link', 'set', 'lo', 'up');
    });
  } catch (e) {
    destroyThreeHosts(tag, hosts);
    throw e;
  }
  return hosts;
}

/** Deletes the namespaces (and so every link and nft table in them); returns problems, never throws. */
export function destroyThreeHosts(tag: string, hosts: readonly NsHost[]): string[] {
  const problems: string[] = [];
  for (const name of [...hosts.map((h) => h.name), switchName(tag)]) {
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'pipe' });
    } catch (e) {
      const msg = String((e as { stderr?: Buffer }).stderr ?? e);
      if (!/No such file/.test(msg)) problems.push(`ip netns del ${name}: ${msg}`);
    }
  }
  return problems;
}

/** The tests' HostNetwork helper (host-network-helper.ts) in one of these hosts. */
export class NsAgent extends HostAgent {
  constructor(host: NsHost, opts: HostNetworkOptions) {
    super(host, opts);
  }
}
