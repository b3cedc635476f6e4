/** Network writes outside a stack file, for tsswarm's API and the Docker Engine API alike. */
import { ConflictError } from '../../shared/errors';
import { Keys } from '../../shared/keys';
import type { Network, NetworkSpec, Service } from '../../shared/types';
import type { Store } from '../store/store';
import { findNetwork, planNetworkRemoval, planNetworks } from './networks';

/** A new overlay network with its subnet and VXLAN id, retried while others are made meanwhile. */
export async function createNetwork(store: Store, spec: NetworkSpec): Promise<Network> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const existing = (await store.list<Network>(Keys.networks)).map((n) => n.value);
    const plan = planNetworks([spec], existing, new Date().toISOString());
    if (await store.commit(plan.ops)) return plan.networks[0]!;
  }
  throw new ConflictError('networks changed while creating this one; try again');
}

/**
 * Removes a network no service uses. `stackOwned`: a stack's network may go this way too (Docker's
 * `stack rm` removes them one by one); tsswarm's own `network rm` leaves them to `stack rm`.
 */
export async function removeNetwork(store: Store, ref: string, o: { stackOwned: boolean }): Promise<Network> {
  const net = await findNetwork(store, ref);
  if (net.value.spec.stack !== null && !o.stackOwned) throw new ConflictError(`network ${net.value.spec.name} belongs to stack ${net.value.spec.stack}; it goes with tsswarm stack rm`);
  const services = (await store.list<Service>(Keys.services)).map((s) => s.value);
  if (!(await store.commit(planNetworkRemoval(net, services)))) throw new ConflictError('the network changed while removing it; try again');
  return net.value;
}
