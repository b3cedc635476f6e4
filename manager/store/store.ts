/**
 * Typed access to the cluster state in etcd. Values are JSON; every read
 * carries the key's mod revision so that writes depending on it can be
 * guarded (a transaction that fails its guard writes nothing).
 */
import { upgradeRecord } from './upgrade';
import { Etcd3, EtcdError, GRPCDeadlineExceededError, GRPCUnavailableError, type IOptions } from 'etcd3';
import { BrokenCircuitError, ExponentialBackoff, noop } from 'cockatiel';
import { credentials, type ChannelOptions } from '@grpc/grpc-js';
import { Host } from 'etcd3/lib/connection-pool';
import type { IKeyValue, ITxnResponse } from 'etcd3/lib/rpc';
import { NotLeaderError, StoreUnavailableError } from '../../shared/errors';
import type { TlsIdentity } from '../../shared/pki/tls-identity';

export interface Versioned<T> {
  key: string;
  value: T;
  modRevision: string;
}

export type Guard = { modRevision: string } | { absent: true } | null;

export type WriteOp =
  | { put: string; value: unknown; guard: Guard }
  | { del: string; guard: Guard };

/**
 * Writes per transaction. etcd refuses more than 128 (--max-txn-ops) of each
 * kind, comparisons included; every transaction carries one comparison of its
 * own (see commitChunk: the leader's fence, or an always-true one), so guarded
 * writes get 127.
 */
export const MAX_TXN_OPS = 127;

/**
 * One leadership term: the leader's campaign key and the revision that created
 * it. The key lives on the campaign's lease, so it exists with this create
 * revision exactly as long as the term lasts; a later term of the same
 * manager has another key.
 */
export interface Fence {
  key: string;
  createRevision: string;
}

/** What writes: the store itself, or the leader's fenced view of it. */
export interface StoreWriter {
  commit(ops: WriteOp[]): Promise<boolean>;
  commitGroups(groups: WriteOp[][]): Promise<boolean>;
}

/**
 * Writes that hold only while the term lasts: each transaction also compares
 * the fence in etcd, so a deposed leader's writes are refused with a
 * NotLeaderError (after onRefused has been told), never applied, never
 * reported as a conflict to retry.
 */
export interface FencedWriter extends StoreWriter {
  readonly fence: Fence;
}

/**
 * Why a fenced transaction failed, from its failure branch (a read of the
 * fence key at the transaction's revision): the term is over unless the key
 * is still the one of this term.
 */
export function fenceHeld(res: Pick<ITxnResponse, 'responses'>, fence: Fence): boolean {
  const kv = res.responses[0]?.response_range?.kvs[0];
  return kv !== undefined && String(kv.create_revision) === fence.createRevision;
}

/** A key-value from etcd as the store gives it: its key, its JSON value, its mod revision. */
export function decode<T>(kv: IKeyValue): Versioned<T> {
  const key = kv.key.toString();
  return {
    key,
    value: upgradeRecord(key, JSON.parse(kv.value.toString())) as T,
    modRevision: String(kv.mod_revision),
  };
}

/** Maps connection-level failures to the one error users see. */
export function asStoreError(e: unknown): unknown {
  if (e instanceof GRPCDeadlineExceededError || e instanceof GRPCUnavailableError || e instanceof BrokenCircuitError) {
    return new StoreUnavailableError('cluster store unavailable: cannot reach etcd', { cause: e });
  }
  if (e instanceof EtcdError && /unavailable|deadline|connect/i.test(e.message)) {
    return new StoreUnavailableError(`cluster store unavailable: ${e.message}`, { cause: e });
  }
  return e;
}

async function wrap<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    throw asStoreError(e);
  }
}

interface FenceCheck {
  fence: Fence;
  onRefused(e: NotLeaderError): void;
}

/** etcd3's pool of hosts (one per endpoint, in the order given); it has no API for what useTls and useEndpoints do. */
function poolOf(client: Etcd3): { hosts: unknown[] } {
  const pool = (client as unknown as { pool?: { hosts?: unknown[] } }).pool;
  if (!pool?.hosts?.length) throw new Error('etcd3 changed: cannot reach its pool of hosts');
  return pool as { hosts: unknown[] };
}

/**
 * Mutual TLS to etcd that follows certificate renewals and CA rotations: etcd3 takes only fixed
 * PEMs (its `credentials` option) for the life of the client, so each of its hosts gets channel
 * credentials built on our TLS identity instead, before any call is made. A reconnection then
 * presents the current certificate and trusts the current roots. (etcd3 1.1 keeps them in
 * `pool.hosts[].channelCredentials`; test/integration/etcd-tls checks this still holds.)
 */
function useTls(client: Etcd3, tls: TlsIdentity): void {
  const creds = tls.channelCredentials('byAddress');
  for (const h of poolOf(client).hosts as { channelCredentials: unknown }[]) h.channelCredentials = creds;
}

export class Store {
  readonly client: Etcd3;
  /** etcd3's host object of each endpoint used so far, whichever of them are in use now. */
  private readonly hosts: Map<string, unknown>;
  private readonly grpcOptions: ChannelOptions;

  /**
   * keepaliveMs: how often connections to etcd are pinged; a member that dies without closing them
   * (power cut) is noticed after twice that. Below etcd's --grpc-keepalive-min-time (5 s by default)
   * etcd answers with GOAWAY; the managers' own etcd members allow 1 s.
   */
  constructor(endpoints: string[], options: Partial<IOptions> = {}, keepaliveMs = 5000, private readonly tls: TlsIdentity | null = null) {
    this.grpcOptions = { 'grpc.keepalive_time_ms': keepaliveMs, 'grpc.keepalive_timeout_ms': keepaliveMs, 'grpc.keepalive_permit_without_calls': 1 };
    this.client = new Etcd3({
      hosts: endpoints,
      dialTimeout: 3000,
      // Per attempt: a call stuck on a member that died is tried again on another (etcd3 retries
      // recoverable errors, deadlines included, up to 3 times), so a user waits ~6 s at worst.
      defaultCallOptions: () => ({ deadline: Date.now() + 2000 }),
      // A member that dies without closing its connections (power cut, partition) is noticed by
      // keepalive pings, so watches and lease keepalives move to a live member instead of waiting
      // on a dead one (for longer than a lease lives).
      grpcOptions: this.grpcOptions,
      faultHandling: {
        // No per-member circuit breaker: etcd3's default shuts a member out for 5 s after three
        // failures, and an etcd leader election fails calls on every member at once, so all of
        // them would be shut out. A failed call is tried again on another member (etcd3's global
        // retry). (Managers that run their own member use it alone, see manager/main.ts.)
        host: () => noop,
        // Watches resume within 2 s at worst (etcd3's default grows to 30 s). etcd3 declares the
        // backoff type of an older cockatiel; the object has what its watcher uses (next, duration).
        watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 2000 }) as unknown as NonNullable<NonNullable<IOptions['faultHandling']>['watchBackoff']>,
      },
      ...options,
    });
    if (tls) useTls(this.client, tls);
    const all = poolOf(this.client).hosts;
    this.hosts = new Map(endpoints.map((e, i) => [e, all[i]]));
  }

  /**
   * New calls, and watches and lease keepalives that reconnect, go to these endpoints from now on
   * (calls under way finish where they are). A manager uses its own member alone and, while that
   * member restarts, the others.
   */
  useEndpoints(endpoints: readonly string[]): void {
    if (endpoints.length === 0) throw new Error('a store needs an endpoint');
    poolOf(this.client).hosts = endpoints.map((e) => {
      let h = this.hosts.get(e);
      if (h === undefined) {
        // As etcd3 makes its own (with our credentials, as useTls gives them, and no circuit breaker).
        h = new Host(e, this.tls ? this.tls.channelCredentials('byAddress') : credentials.createInsecure(), this.grpcOptions, noop);
        this.hosts.set(e, h);
      }
      return h;
    });
  }

  async get<T>(key: string): Promise<Versioned<T> | null> {
    const res = await wrap(this.client.get(key).exec());
    const kv = res.kvs[0];
    return kv ? decode<T>(kv) : null;
  }

  async list<T>(prefix: string): Promise<Versioned<T>[]> {
    const res = await wrap(this.client.getAll().prefix(prefix).exec());
    return res.kvs.map((kv) => decode<T>(kv));
  }

  /**
   * Applies the writes, at most MAX_TXN_OPS per etcd transaction. Guarded ops
   * must fit in one transaction (the caller keeps them under the limit); the
   * result is false when a guard failed, and then nothing of that chunk was written.
   */
  commit(ops: WriteOp[]): Promise<boolean> {
    return this.commitIn(ops, null);
  }

  /**
   * Like commit, but never splits a group across transactions: a group is
   * writes that must land together (a reservation and the object that uses it).
   * Returns false if any transaction failed its guards.
   */
  commitGroups(groups: WriteOp[][]): Promise<boolean> {
    return this.commitGroupsIn(groups, null);
  }

  /**
   * The leader's writer for one term (see FencedWriter). Reads stay on the
   * store: a stale read is caught by the guards, a stale leader by the fence.
   */
  fenced(fence: Fence, onRefused: (e: NotLeaderError) => void = () => undefined): FencedWriter {
    const f = { fence, onRefused };
    return {
      fence,
      commit: (ops) => this.commitIn(ops, f),
      commitGroups: (groups) => this.commitGroupsIn(groups, f),
    };
  }

  private async commitIn(ops: WriteOp[], fence: FenceCheck | null): Promise<boolean> {
    for (let i = 0; i < ops.length; i += MAX_TXN_OPS) {
      const chunk = ops.slice(i, i + MAX_TXN_OPS);
      const ok = await this.commitChunk(chunk, fence);
      if (!ok) return false;
    }
    return true;
  }

  private async commitGroupsIn(groups: WriteOp[][], fence: FenceCheck | null): Promise<boolean> {
    let ok = true;
    let chunk: WriteOp[] = [];
    const flush = async () => {
      // A refused fence throws out of here: nothing after it is tried.
      if (chunk.length && !(await this.commitChunk(chunk, fence))) ok = false;
      chunk = [];
    };
    for (const g of groups) {
      if (g.length > MAX_TXN_OPS) throw new Error(`a write group of ${g.length} ops does not fit one transaction`);
      if (chunk.length + g.length > MAX_TXN_OPS) await flush();
      chunk.push(...g);
    }
    await flush();
    return ok;
  }

  private async commitChunk(ops: WriteOp[], fence: FenceCheck | null): Promise<boolean> {
    if (ops.length === 0) return true;
    // etcd3's builder needs at least one comparison: the fence when there is
    // one (in the same transaction, so no write lands after the term ended),
    // else one that always holds (a key's create revision is always >= 0).
    let txn = fence
      ? this.client.if(fence.fence.key, 'Create', '==', fence.fence.createRevision)
      : this.client.if('/tsswarm/v1/cluster', 'Create', '>', -1);
    for (const op of ops) {
      const key = 'put' in op ? op.put : op.del;
      if (op.guard === null) continue;
      txn = 'absent' in op.guard
        ? txn.and(key, 'Create', '==', 0)
        : txn.and(key, 'Mod', '==', op.guard.modRevision);
    }
    const writes = ops.map((op) =>
      'put' in op
        ? this.client.put(op.put).value(JSON.stringify(op.value))
        : this.client.delete().key(op.del),
    );
    txn = txn.then(...writes);
    // On failure, read the fence key at the same revision: that tells a guard conflict from the
    // end of the term without a second round trip (or a race with it).
    if (fence) txn = txn.else(this.client.get(fence.fence.key));
    const res = await wrap(txn.commit());
    if (res.succeeded) return true;
    if (fence && !fenceHeld(res, fence.fence)) {
      const e = new NotLeaderError(`not the leader any more: election key ${fence.fence.key} of this term is gone`, fence.fence.key);
      fence.onRefused(e);
      throw e;
    }
    return false;
  }

  /**
   * Calls onChange(key) for every put or delete under the prefixes. Returns a
   * function that stops the watches.
   */
  async watch(prefixes: string[], onChange: (key: string) => void, onError: (e: Error) => void): Promise<() => Promise<void>> {
    const watchers = await wrap(
      Promise.all(
        prefixes.map((p) =>
          this.client.watch().prefix(p).create().then((w) => {
            w.on('put', (kv) => onChange(kv.key.toString()));
            w.on('delete', (kv) => onChange(kv.key.toString()));
            w.on('error', onError);
            return w;
          }),
        ),
      ),
    );
    return async () => {
      await Promise.all(watchers.map((w) => w.cancel().catch(() => undefined)));
    };
  }

  close(): void {
    // Every host's channels close, those out of use too.
    poolOf(this.client).hosts = [...this.hosts.values()];
    this.client.close();
  }
}
