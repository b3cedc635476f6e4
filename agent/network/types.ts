/** The per-host overlay data plane's vocabulary (see README.md). IPv4 only for now. */

/** One overlay network as the manager allocated it; identical on every host that has a task on it. */
export interface OverlaySpec {
  /** Network id; names the bridge and VXLAN device (hashed, see names.ts). */
  id: string;
  /** VXLAN network identifier, 1..16777215. */
  vni: number;
  /** CIDR, e.g. `10.214.1.0/24`. */
  subnet: string;
  /** Address of the bridge on every host: the sandboxes' default gateway. */
  gateway: string;
  /**
   * MTU of bridge, VXLAN device and veths: the underlay's minus 50 bytes of VXLAN encapsulation
   * (and, when encrypted, minus ESP's 34: node-networks.ts ENCRYPTED_OVERLAY_MTU).
   */
  mtu: number;
  /** VXLAN to other hosts goes as ESP only (encryption/), with the keys of setEncryptionKeys. */
  encrypted: boolean;
}

/** A task's address on an overlay network, and where it lives. */
export interface Endpoint {
  ip: string;
  mac: string;
  /** Underlay address of the host that runs it: the VXLAN tunnel's far end. */
  hostAddr: string;
}

/** How a sandbox is attached to an overlay network. */
export interface AttachSpec {
  ip: string;
  mac: string;
  /** Interface name inside the sandbox, e.g. `eth0`. */
  ifname: string;
  /** Route everything not on a connected subnet through this network's gateway. */
  defaultRoute: boolean;
}

export interface HostNetworkOptions {
  /** This host's underlay address: the local end of every VXLAN tunnel. */
  underlayAddr: string;
  /** Directory of the sandboxes' netns files; one per agent, nothing else may live there. */
  netnsDir: string;
  /**
   * Short per-agent prefix (1-4 of [a-z0-9], starting with a letter) for every link and the nft
   * table, so that several agents can share one kernel in tests and close() finds what is its own.
   */
  prefix: string;
}
