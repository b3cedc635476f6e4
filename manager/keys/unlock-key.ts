/**
 * The autolock unlock key: kept in the cluster record sealed under the data
 * key (so managers that join can wrap their copy of the DEK with it), shown by
 * `tsswarm unlock-key`, replaced by `unlock-key --rotate`, after which every
 * manager rewraps its key file with the new one: the old key unlocks nothing
 * once they have.
 */
import type { Cluster } from '../../shared/types';
import { Keys } from '../../shared/keys';
import { ConflictError, InvalidArgumentError, NotFoundError } from '../../shared/errors';
import type { Logger } from '../../shared/log';
import type { Store } from '../store/store';
import type { DataKey } from './data-key';
import { newUnlockKey } from './key-files';
import { open, seal } from './seal';

export async function currentUnlockKey(store: Store, keys: DataKey): Promise<string> {
  const c = await store.get<Cluster>(Keys.cluster);
  if (!c) throw new NotFoundError('the cluster is not initialised');
  if (!c.value.autolock || !c.value.unlockKey) throw new InvalidArgumentError('autolock is not enabled on this cluster (tsswarm init --autolock)');
  return open(keys.get(), Keys.cluster, c.value.unlockKey).toString();
}

export async function rotateUnlockKey(store: Store, keys: DataKey): Promise<string> {
  const c = await store.get<Cluster>(Keys.cluster);
  if (!c) throw new NotFoundError('the cluster is not initialised');
  if (!c.value.autolock) throw new InvalidArgumentError('autolock is not enabled on this cluster (tsswarm init --autolock)');
  const key = newUnlockKey();
  const next: Cluster = { ...c.value, unlockKey: seal(keys.get(), Keys.cluster, key) };
  if (!(await store.commit([{ put: Keys.cluster, value: next, guard: { modRevision: c.modRevision } }]))) throw new ConflictError('the cluster settings changed meanwhile; try again');
  return key;
}

/** Rewraps this manager's key file whenever the cluster's unlock key changes. */
export async function followUnlockKey(store: Store, keys: DataKey, log: Logger): Promise<() => Promise<void>> {
  let last = '';
  const check = async () => {
    try {
      const c = await store.get<Cluster>(Keys.cluster);
      const dek = keys.current();
      if (!c?.value.autolock || !c.value.unlockKey || !dek) return;
      const sealed = JSON.stringify(c.value.unlockKey);
      if (sealed === last) return;
      const key = open(dek.key, Keys.cluster, c.value.unlockKey).toString();
      keys.adopt(dek.key, true, key);
      if (last !== '') log.info('the unlock key changed; this manager\'s data key is wrapped with the new one');
      last = sealed;
    } catch (e) {
      log.warn(`following the unlock key: ${(e as Error).message}`);
    }
  };
  const stop = await store.watch([Keys.cluster], () => void check(), (e) => log.warn(`unlock key watch: ${e.message}`));
  await check();
  return stop;
}
