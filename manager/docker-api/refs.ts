/**
 * What the Docker views are made from, read in one go (consistent reads of the store, so a client
 * sees its own writes at once, as Docker's CLI expects when it polls right after a create).
 */
import { Keys } from '../../shared/keys';
import type { ClusterNode, Network, Service, Task } from '../../shared/types';
import type { Store, Versioned } from '../store/store';
import type { SpecRefs } from './service-spec';

export function specRefs(networks: Versioned<Network>[]): SpecRefs {
  const byName = new Map(networks.map((n) => [n.value.spec.name, n.value]));
  const byId = new Map(networks.map((n) => [n.value.id, n.value]));
  return {
    networkId: (name) => byName.get(name)?.id ?? null,
    networkName: (target) => byId.get(target)?.spec.name ?? byName.get(target)?.spec.name ?? null,
    networkSubnet: (id) => byId.get(id)?.subnet ?? null,
  };
}

export interface ClusterRead {
  services: Versioned<Service>[];
  tasks: Versioned<Task>[];
  nodes: Versioned<ClusterNode>[];
  networks: Versioned<Network>[];
}

export async function readCluster(store: Store, want: { tasks?: boolean; nodes?: boolean } = {}): Promise<ClusterRead> {
  const [services, tasks, nodes, networks] = await Promise.all([
    store.list<Service>(Keys.services),
    want.tasks ? store.list<Task>(Keys.tasks) : Promise.resolve([]),
    want.nodes ? store.list<ClusterNode>(Keys.nodes) : Promise.resolve([]),
    store.list<Network>(Keys.networks),
  ]);
  return { services, tasks, nodes, networks };
}
