/**
 * An in-memory stand-in for etcd's KV transactions, enough to run Store's
 * real transactions (comparisons on create/mod revision, puts, deletes, a
 * range in the failure branch) without etcd: it is installed in place of the
 * etcd3 client's KV service, so the requests tested are the ones etcd gets.
 */
import type { Store } from '../../../../manager/store/store';
import type { ICompare, IKeyValue, IRangeRequest, IRequestOp, ITxnRequest } from 'etcd3/lib/rpc';

interface Entry {
  value: string;
  create: number;
  mod: number;
}

export class FakeKv {
  readonly keys = new Map<string, Entry>();
  revision = 1;
  /** Every transaction as etcd would receive it. */
  readonly txns: ITxnRequest[] = [];

  /** Replaces store's KV service with this one (transactions and single-key reads). */
  install(store: Store): void {
    const kv = (store.client as unknown as { kv: { txn(req: ITxnRequest): Promise<unknown>; range(req: IRangeRequest): Promise<unknown> } }).kv;
    kv.txn = (req) => Promise.resolve(this.txn(req));
    kv.range = (req) => Promise.resolve({ header: { revision: String(this.revision) }, ...this.range(req.key!.toString()) });
  }

  private range(key: string): { kvs: IKeyValue[]; count: string; more: boolean } {
    const e = this.keys.get(key);
    const kv = e ? { key: Buffer.from(key), value: Buffer.from(e.value), create_revision: String(e.create), mod_revision: String(e.mod), version: '1', lease: '0' } : null;
    return { kvs: kv ? [kv] : [], count: kv ? '1' : '0', more: false };
  }

  put(key: string, value: string): number {
    this.revision++;
    const old = this.keys.get(key);
    this.keys.set(key, { value, create: old?.create ?? this.revision, mod: this.revision });
    return this.revision;
  }

  delete(key: string): void {
    if (this.keys.delete(key)) this.revision++;
  }

  private holds(c: ICompare): boolean {
    const e = this.keys.get(c.key!.toString());
    const [actual, expected] = c.target === 1 // Create
      ? [e?.create ?? 0, Number(c.create_revision)]
      : c.target === 2 // Mod
        ? [e?.mod ?? 0, Number(c.mod_revision)]
        : [NaN, NaN];
    switch (c.result) {
      case 0: return actual === expected;
      case 1: return actual > expected;
      case 2: return actual < expected;
      case 3: return actual !== expected;
      default: throw new Error(`fake kv: comparison ${String(c.result)} not supported`);
    }
  }

  private txn(req: ITxnRequest): unknown {
    this.txns.push(req);
    const succeeded = (req.compare ?? []).every((c) => this.holds(c));
    const ops: IRequestOp[] = (succeeded ? req.success : req.failure) ?? [];
    const before = this.revision;
    const responses = ops.map((op) => {
      if (op.request_range) return { response_range: this.range(op.request_range.key!.toString()) };
      if (op.request_put) {
        // One transaction is one revision.
        const key = op.request_put.key!.toString();
        const old = this.keys.get(key);
        this.keys.set(key, { value: op.request_put.value!.toString(), create: old?.create ?? before + 1, mod: before + 1 });
        this.revision = before + 1;
        return { response_put: {} };
      }
      if (op.request_delete_range) {
        if (this.keys.delete(op.request_delete_range.key!.toString())) this.revision = before + 1;
        return { response_delete_range: {} };
      }
      throw new Error('fake kv: operation not supported');
    });
    return { header: { revision: String(this.revision) }, succeeded, responses };
  }
}
