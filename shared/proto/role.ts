/**
 * dispatcher.proto's HostRole as decoded (keepCase): what a host is to be, the live managers, and for a manager the etcd to use.
 * `tsswarm join` gets it from the manager it asks; a promoted or demoted
 * node's agent gets it in its session and hands it to the host's supervisor.
 */
export interface RoleWire {
  role: string;
  /** Dispatcher addresses (IP:PORT) of the live managers. */
  managers: string[];
  /** The etcd client URLs a new manager uses (the voting members', when the managers run etcd). */
  etcd_endpoints: string[];
  /** True when the managers run etcd themselves: the host starts a member... */
  etcd_managed: boolean;
  /** ...named so, with this --initial-cluster (it was added as a learner). */
  etcd_name: string;
  etcd_initial_cluster: string;
}
