/**
 * A manager without the data key (it just joined, or was promoted) asks the
 * live managers for it, presenting its manager certificate; GetDataKey
 * refuses anyone else. An autolocked cluster's key is then wrapped with the
 * unlock key the store keeps sealed under it.
 */
import * as grpc from '@grpc/grpc-js';
import type { Cluster } from '../../shared/types';
import { Keys } from '../../shared/keys';
import { callDispatcher } from '../../shared/proto/load';
import type { TlsIdentity } from '../../shared/pki/tls-identity';
import type { Logger } from '../../shared/log';
import type { Store } from '../store/store';
import { liveManagers } from '../election/presence';
import type { DataKey } from './data-key';
import { open } from './seal';

function ask(addr: string, tls: TlsIdentity): Promise<{ dek: Buffer; autolock: boolean }> {
  return callDispatcher<{ dek: Buffer; autolock: boolean }>(addr, tls.channelCredentials(), 'GetDataKey', {}, 5000).catch((e: grpc.ServiceError) => {
    throw new Error(`${addr}: ${e.details || e.message}`);
  });
}

/** Tries the live managers until one hands the key over; retries until `signal` aborts. */
export async function fetchDataKey(store: Store, tls: TlsIdentity, keys: DataKey, self: string, log: Logger, signal: AbortSignal): Promise<void> {
  for (let round = 0; !signal.aborted; round++) {
    const others = (await liveManagers(store).catch(() => [])).map((m) => m.dispatcher).filter((a) => a !== self);
    for (const addr of others) {
      try {
        const { dek } = await ask(addr, tls);
        const cluster = (await store.get<Cluster>(Keys.cluster))?.value;
        const unlockKey = cluster?.autolock && cluster.unlockKey ? open(dek, Keys.cluster, cluster.unlockKey).toString() : null;
        keys.adopt(Buffer.from(dek), cluster?.autolock === true, unlockKey);
        log.info(`got the cluster's data key from ${addr}`);
        return;
      } catch (e) {
        if (round % 10 === 0) log.warn(`asking for the data key: ${(e as Error).message}`);
      }
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
