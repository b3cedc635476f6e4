/**
 * Kernel object names. Link names are at most 15 bytes (IFNAMSIZ - 1), far shorter than our ids,
 * so they are the agent's prefix, one letter for the kind, and a hash of the id: deterministic
 * (a restarted agent finds its links again), distinct per agent, and recognisable by close().
 */
import { createHash } from 'node:crypto';
import { InvalidNetworkConfigError } from './errors';

const PREFIX = /^[a-z][a-z0-9]{0,3}$/;
/** Same alphabet as container ids: the sandbox id names a file under netnsDir. */
const SANDBOX_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

export function validatePrefix(prefix: string): void {
  if (!PREFIX.test(prefix)) {
    throw new InvalidNetworkConfigError(`prefix ${JSON.stringify(prefix)}: 1-4 of [a-z0-9], starting with a letter`, 'prefix');
  }
}

export function validateSandboxId(id: string): void {
  if (!SANDBOX_ID.test(id)) throw new InvalidNetworkConfigError(`invalid sandbox id ${JSON.stringify(id)}`, 'sandboxId');
}

export function validateIfname(name: string): void {
  if (!IFNAME.test(name) || name === '.' || name === '..') {
    throw new InvalidNetworkConfigError(`invalid interface name ${JSON.stringify(name)}`, 'ifname');
  }
}

function hash(text: string, hexChars: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, hexChars);
}

/** `<prefix>b<8 hex>`: the network's bridge. */
export function bridgeName(prefix: string, networkId: string): string {
  return `${prefix}b${hash(networkId, 8)}`;
}

/** `<prefix>x<8 hex>`: the network's VXLAN device. */
export function vxlanName(prefix: string, networkId: string): string {
  return `${prefix}x${hash(networkId, 8)}`;
}

/**
 * `<prefix>v<7 hex of sandbox><2 chars of the interface>`: the host end of a sandbox's veth, whose
 * other end is `ifname` inside the sandbox. The sandbox part comes first so that every veth of one
 * sandbox shares a name prefix (sandboxVethPrefix), which is how removeSandbox finds them after an
 * agent restart. The last part comes from the interface name, unique within the sandbox, so two
 * networks of one task never get the same name (a hash of the network id did, 1 time in 256:
 * `RTNETLINK answers: File exists` for a task on three networks).
 */
export function vethName(prefix: string, sandboxId: string, ifname: string): string {
  const m = /^eth(\d{1,2})$/.exec(ifname);
  return `${sandboxVethPrefix(prefix, sandboxId)}${m ? m[1]!.padStart(2, '0') : hash(ifname, 2)}`;
}

export function sandboxVethPrefix(prefix: string, sandboxId: string): string {
  return `${prefix}v${hash(sandboxId, 7)}`;
}

/** Whether a link name is one this prefix's names could produce (what close() sweeps). */
export function isOwnLink(prefix: string, name: string): boolean {
  const rest = name.startsWith(prefix) ? name.slice(prefix.length) : null;
  // `esp`: the TUN device of encrypted networks (encryption/ids.ts).
  return rest !== null && /^([bx][0-9a-f]{8}|v[0-9a-f]{9}|esp)$/.test(rest);
}

/** The agent's nftables table (family ip). */
export function nftTableName(prefix: string): string {
  return `tsswarm_${prefix}`;
}
