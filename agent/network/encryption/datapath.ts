/**
 * The encrypted overlay data path of one agent, level-based: apply() makes the routing and the ESP
 * helper match what HostNetwork asks for (is any overlay here encrypted, which hosts do those
 * overlays reach, with which keys); close() removes all of it, whatever this instance knows.
 *
 * The pieces (see README.md, "Encrypted networks"): nft chains mark and fence the VXLAN datagrams
 * of encrypted networks (nft.ts, written by HostNetwork with the rest of its table); a fwmark rule
 * and a table route them into a TUN device (routing.ts); tsswarm-esp reads them there and sends
 * ESP, and writes what it opens back into the device (helper.ts). The SAs are sa.ts's.
 */
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import type { NetworkKeyring } from '../../../shared/network-keys';
import type { BatchRunner } from '../runner';
import type { NetSys } from '../sys';
import { EspHelper, type EspStats } from './helper';
import { espIds } from './ids';
import { parseRules, routingCommands, unroutingCommands } from './routing';
import { securityAssociations, type EspSa } from './sa';

export interface EspDesired {
  /** Some overlay on this host is encrypted. */
  active: boolean;
  /**
   * Underlay addresses of the hosts with endpoints on those overlays, or null while some of them
   * are not known yet (an agent started again, before its first peers): the helper keeps the SAs
   * it has rather than drop traffic for those few milliseconds.
   */
  remotes: readonly string[] | null;
  /** null: not given yet (likewise, the helper keeps what it has). */
  ring: NetworkKeyring | null;
}

export interface EspDatapathOptions {
  prefix: string;
  underlayAddr: string;
  /** The helper's socket, pid file and log (one directory per agent). */
  dir: string;
  helperBin: string;
}

/** `ip` and `bridge` say this when what a delete targets is already gone. */
const GONE = /Cannot find device|No such file or directory|No such device|not found|No such process/i;

/** One line of the helper's protocol per SA (esp-main.cc). */
export function saLine(sa: EspSa): string {
  return `${sa.dir} ${sa.peer} ${sa.spi.toString(16)} ${sa.key.toString('hex')}`;
}

export class EspDatapath {
  private readonly helper: EspHelper;
  /** TUN device, table and rule are in place (set up by this instance). */
  private routed = false;
  /** Digest of the SA set the connected helper holds; null: unknown. */
  private sent: string | null = null;
  private warnedRpFilter = false;

  constructor(
    private readonly o: EspDatapathOptions,
    private readonly sys: NetSys,
    private readonly ip: BatchRunner,
    /** The helper went away: the caller applies again (which starts a new one). */
    onLost: () => void,
    private readonly warn: (message: string) => void,
  ) {
    this.helper = new EspHelper({ bin: o.helperBin, dir: o.dir, tun: espIds(o.prefix).tun, local: o.underlayAddr });
    this.helper.onLost = () => {
      this.sent = null;
      onLost();
    };
  }

  async apply(d: EspDesired): Promise<void> {
    if (!d.active) {
      if (this.routed || this.helper.connected) await this.teardown();
      return;
    }
    if (!this.routed) {
      await this.route();
      this.routed = true;
    }
    if (await this.helper.ensure()) this.sent = null;
    if (d.remotes === null || d.ring === null) return;
    const plan = securityAssociations(this.o.underlayAddr, d.remotes, d.ring);
    for (const p of plan.problems) this.warn(p);
    const lines = plan.sas.map(saLine);
    const digest = createHash('sha256').update(lines.join('\n')).digest('hex');
    if (digest === this.sent) return;
    this.sent = null;
    await this.helper.commit(lines);
    this.sent = digest;
  }

  /** The helper's packet counters, or null when none runs. */
  async stats(): Promise<EspStats | null> {
    return this.helper.connected ? this.helper.stats() : null;
  }

  /** Removes the helper, the rule, the TUN device and the helper's directory. Idempotent. */
  async close(): Promise<void> {
    await this.teardown();
    rmSync(this.o.dir, { recursive: true, force: true });
  }

  private async route(): Promise<void> {
    const { tun } = espIds(this.o.prefix);
    const [link, rules] = await Promise.all([this.sys.exec(['ip', '-j', 'link', 'show', 'dev', tun], ''), this.sys.exec(['ip', '-j', 'rule', 'show'], '')]);
    await this.ip.run(routingCommands(this.o.prefix, { tun: link.code === 0, rule: parseRules(this.o.prefix, rules.stdout) > 0 }));
    // Opened datagrams come in on the TUN device from a remote host's address, which the routes
    // say is reached through the underlay: strict reverse-path filtering would drop them.
    this.sys.writeSysctl(`/proc/sys/net/ipv4/conf/${tun}/rp_filter`, '0');
    try {
      // Nothing but VXLAN is for this device (the kernel would send it router solicitations).
      this.sys.writeSysctl(`/proc/sys/net/ipv6/conf/${tun}/disable_ipv6`, '1');
    } catch {
      // no IPv6 in this kernel
    }
    if (!this.warnedRpFilter && readSysctl('/proc/sys/net/ipv4/conf/all/rp_filter') === '1') {
      this.warnedRpFilter = true;
      this.warn(`net.ipv4.conf.all.rp_filter is 1 (strict): it overrides ${tun}'s and drops the encrypted networks' traffic; set it to 2 (loose) or 0`);
    }
  }

  private async teardown(): Promise<void> {
    await this.helper.stop();
    this.sent = null;
    const { tun } = espIds(this.o.prefix);
    const [link, rules] = await Promise.all([this.sys.exec(['ip', '-j', 'link', 'show', 'dev', tun], ''), this.sys.exec(['ip', '-j', 'rule', 'show'], '')]);
    const lines = unroutingCommands(this.o.prefix, parseRules(this.o.prefix, rules.stdout)).filter((l) => link.code === 0 || !l.startsWith('link del'));
    await this.ip.run(lines, GONE);
    this.routed = false;
  }
}

function readSysctl(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}
