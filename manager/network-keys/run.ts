/** The leader's network key loop: makes the keyring when an encrypted network appears, rotates it. */
import { randomBytes } from 'node:crypto';
import type { Network } from '../../shared/types';
import { Keys } from '../../shared/keys';
import type { Logger } from '../../shared/log';
import { NETWORK_KEY_BYTES } from '../../shared/network-keys';
import type { Store, StoreWriter } from '../store/store';
import { ReconcileLoop } from '../orchestrator/loop';
import { planKeyring, rotationPeriodMs, type ManagedKeyring } from './keyring';
import { openNetworkKeys, sealNetworkKeys, type StoredNetworkKeys } from './seal';

/** Reads go to the store; writes through writer (the leader's fenced one). */
/** `dek` is the cluster's data key the keys are sealed under (it throws while this manager has none). */
export function networkKeyLoop(store: Store, writer: StoreWriter, log: Logger, dek: () => Buffer, periodMs = rotationPeriodMs()): ReconcileLoop {
  return new ReconcileLoop({
    name: 'network-keys',
    store,
    log,
    prefixes: [Keys.networks, Keys.networkKeys],
    // Rotation is a decision in time: look a few times per period (at most once a minute).
    periodMs: Math.min(60_000, Math.max(250, Math.floor(periodMs / 4))),
    pass: async () => {
      const [networks, stored] = await Promise.all([store.list<Network>(Keys.networks), store.get<StoredNetworkKeys>(Keys.networkKeys)]);
      const needed = networks.some((n) => n.value.spec.encrypted === true);
      let current: ManagedKeyring | null = null;
      if (stored) {
        try {
          current = openNetworkKeys(stored.value, dek());
        } catch (e) {
          // Sealed in a way this manager cannot open (a newer manager's format, or a data key it does
          // not hold): replacing the keys would cut every encrypted network, so leave them.
          log.warn(`${(e as Error).message}; leaving the network keys as they are`);
          return { retry: false };
        }
      }
      const change = planKeyring(current, needed, Date.now(), periodMs, () => randomBytes(NETWORK_KEY_BYTES));
      if (change === null) return { retry: false };
      const ok = await writer.commit([{ put: Keys.networkKeys, value: sealNetworkKeys(change.next, dek()), guard: stored ? { modRevision: stored.modRevision } : { absent: true } }]);
      // Tags only: key material is never logged.
      if (ok) log.info(`network keys ${change.kind}: tags ${change.next.keys.map((k) => k.tag).join(', ')}, primary ${change.next.primary}`);
      return { retry: !ok };
    },
  });
}
