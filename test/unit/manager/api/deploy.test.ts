import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planDeploy, validateSpec } from '../../../../manager/api/deploy';
import type { Versioned, WriteOp } from '../../../../manager/store/store';
import { MAX_TXN_OPS } from '../../../../manager/store/store';
import { ConflictError, InvalidArgumentError } from '../../../../shared/errors';
import { Keys } from '../../../../shared/keys';
import { specDigest } from '../../../../shared/service-versions';
import type { Service, ServiceSpec, Stack } from '../../../../shared/types';
import { at, NOW, service, serviceSpec, type SpecOptions } from '../../fixtures';

const STACK = 'shop';
const LATER = at(3600);

const spec = (name: string, o: SpecOptions = {}): ServiceSpec => serviceSpec({ name: `${STACK}_${name}`, stack: STACK, ...o });

function stored(id: string, s: ServiceSpec, rev: string, specVersion = 4): Versioned<Service> {
  return { key: Keys.service(id), value: { ...service({ id, specVersion }), spec: s, specDigest: specDigest(s) }, modRevision: rev };
}

function stackOf(serviceIds: string[], rev = '50'): Versioned<Stack> {
  return { key: Keys.stack(STACK), value: { v: 1, name: STACK, services: serviceIds, createdAt: NOW, updatedAt: NOW }, modRevision: rev };
}

type PutOp = Extract<WriteOp, { put: string }>;
const puts = (ops: WriteOp[]): PutOp[] => ops.filter((o): o is PutOp => 'put' in o);
const servicePuts = (ops: WriteOp[]) => puts(ops).filter((o) => o.put.startsWith(Keys.services));
function stackPut(ops: WriteOp[]): { value: Stack; op: PutOp } {
  const op = puts(ops).find((o) => o.put === Keys.stack(STACK));
  assert.ok(op, 'the stack is written');
  return { value: op.value as Stack, op };
}

describe('planDeploy', () => {
  it('creates every service of a new stack, guarded absent', () => {
    const { ops, result } = planDeploy(STACK, [spec('web'), spec('db')], false, null, [], LATER);
    assert.deepEqual(result, { created: ['shop_web', 'shop_db'], updated: [], unchanged: [], removed: [] });
    const sp = servicePuts(ops);
    assert.equal(sp.length, 2);
    for (const op of sp) {
      const svc = op.value as Service;
      assert.deepEqual(op.guard, { absent: true });
      assert.equal(op.put, Keys.service(svc.id));
      assert.equal(svc.specVersion, 1);
      assert.equal(svc.createdAt, LATER);
      assert.equal(svc.updatedAt, LATER);
    }
    assert.deepEqual(sp.map((o) => (o.value as Service).spec), [spec('web'), spec('db')]);
    const st = stackPut(ops);
    assert.deepEqual(st.op.guard, { absent: true });
    assert.deepEqual(st.value.services, sp.map((o) => (o.value as Service).id));
    assert.equal(st.value.createdAt, LATER);
    assert.equal(ops.length, 3);
  });

  it('an identical spec is unchanged and not written', () => {
    const cur = stored('id-web', spec('web'), '10');
    const { ops, result } = planDeploy(STACK, [spec('web')], false, stackOf(['id-web']), [cur], LATER);
    assert.deepEqual(result, { created: [], updated: [], unchanged: ['shop_web'], removed: [] });
    assert.deepEqual(servicePuts(ops), []);
    const st = stackPut(ops);
    assert.deepEqual(st.op.guard, { modRevision: '50' });
    assert.deepEqual(st.value.services, ['id-web']);
    assert.equal(st.value.createdAt, NOW, 'the stack keeps its creation time');
    assert.equal(st.value.updatedAt, LATER);
  });

  const updates: { name: string; from: ServiceSpec; to: ServiceSpec; specVersion: number }[] = [
    { name: 'a replicas-only change keeps the spec version', from: spec('web', { replicas: 2 }), to: spec('web', { replicas: 5 }), specVersion: 4 },
    { name: 'scaling to zero keeps the spec version', from: spec('web', { replicas: 2 }), to: spec('web', { replicas: 0 }), specVersion: 4 },
    { name: 'an image change bumps the spec version', from: spec('web'), to: spec('web', { container: { image: 'nginx:1.25' } }), specVersion: 5 },
    { name: 'an env change bumps the spec version', from: spec('web'), to: spec('web', { container: { env: ['A=1'] } }), specVersion: 5 },
    { name: 'a limits change bumps the spec version', from: spec('web'), to: spec('web', { limits: { memoryBytes: 1 << 20 } }), specVersion: 5 },
    {
      name: 'replicas plus another change bumps the spec version',
      from: spec('web', { replicas: 1 }),
      to: spec('web', { replicas: 3, container: { command: ['sleep', '1'] } }),
      specVersion: 5,
    },
    { name: 'a service label change keeps the spec version (it restarts nothing)', from: spec('web'), to: spec('web', { labels: { tier: 'front' } }), specVersion: 4 },
  ];
  for (const u of updates) {
    it(u.name, () => {
      const cur = stored('id-web', u.from, '10');
      const { ops, result } = planDeploy(STACK, [u.to], false, stackOf(['id-web']), [cur], LATER);
      assert.deepEqual(result, { created: [], updated: ['shop_web'], unchanged: [], removed: [] });
      const [op, ...rest] = servicePuts(ops);
      assert.equal(rest.length, 0);
      assert.ok(op);
      assert.equal(op.put, Keys.service('id-web'));
      assert.deepEqual(op.guard, { modRevision: '10' });
      const bumped = u.specVersion !== cur.value.specVersion;
      const updating = { state: 'updating', startedAt: LATER, completedAt: null, message: 'update in progress' };
      assert.deepEqual(
        op.value,
        bumped
          ? { ...cur.value, spec: u.to, specVersion: u.specVersion, specDigest: specDigest(u.to), previousSpec: u.from, updateStatus: updating, updatedAt: LATER }
          : { ...cur.value, spec: u.to, updatedAt: LATER },
      );
    });
  }

  it('the order of labels does not make a change', () => {
    const cur = stored('id-web', spec('web', { labels: { a: '1', b: '2' } }), '10');
    const { result } = planDeploy(STACK, [spec('web', { labels: { b: '2', a: '1' } })], false, stackOf(['id-web']), [cur], LATER);
    assert.deepEqual(result.unchanged, ['shop_web'], 'the same labels in another order are the same spec');
  });

  it('prune removes services missing from the file, guarded by their revision', () => {
    const web = stored('id-web', spec('web'), '10');
    const db = stored('id-db', spec('db'), '11');
    const { ops, result } = planDeploy(STACK, [spec('web')], true, stackOf(['id-web', 'id-db']), [web, db], LATER);
    assert.deepEqual(result, { created: [], updated: [], unchanged: ['shop_web'], removed: ['shop_db'] });
    assert.deepEqual(
      ops.filter((o) => 'del' in o),
      [{ del: Keys.service('id-db'), guard: { modRevision: '11' } }],
    );
    assert.deepEqual(stackPut(ops).value.services, ['id-web']);
  });

  it('without prune, services missing from the file stay in the stack', () => {
    const web = stored('id-web', spec('web'), '10');
    const db = stored('id-db', spec('db'), '11');
    const { ops, result } = planDeploy(STACK, [spec('web')], false, stackOf(['id-web', 'id-db']), [web, db], LATER);
    assert.deepEqual(result, { created: [], updated: [], unchanged: ['shop_web'], removed: [] });
    assert.deepEqual(
      ops.filter((o) => 'del' in o),
      [],
    );
    assert.deepEqual(stackPut(ops).value.services, ['id-web', 'id-db']);
  });

  it('a stack entry whose service is already gone is dropped', () => {
    const web = stored('id-web', spec('web'), '10');
    const { ops } = planDeploy(STACK, [spec('web')], true, stackOf(['id-web', 'id-vanished']), [web], LATER);
    assert.deepEqual(stackPut(ops).value.services, ['id-web']);
    assert.deepEqual(
      ops.filter((o) => 'del' in o),
      [],
    );
  });

  it('mixes create, update, unchanged and removed in one plan', () => {
    const a = stored('id-a', spec('a'), '1');
    const b = stored('id-b', spec('b', { replicas: 1 }), '2');
    const c = stored('id-c', spec('c'), '3');
    const { result } = planDeploy(STACK, [spec('a'), spec('b', { replicas: 2 }), spec('d')], true, stackOf(['id-a', 'id-b', 'id-c']), [a, b, c], LATER);
    assert.deepEqual(result, { created: ['shop_d'], updated: ['shop_b'], unchanged: ['shop_a'], removed: ['shop_c'] });
  });

  it('rejects a service defined twice', () => {
    assert.throws(
      () => planDeploy(STACK, [spec('web'), spec('db'), spec('web', { replicas: 3 })], false, null, [], LATER),
      (e: unknown) => e instanceof InvalidArgumentError && /shop_web is defined twice/.test(e.message),
    );
  });

  const foreign: { name: string; owner: string | null }[] = [
    { name: 'owned by another stack', owner: 'other' },
    { name: 'created outside any stack', owner: null },
  ];
  for (const f of foreign) {
    it(`a service ${f.name} is a conflict`, () => {
      const theirs = stored('id-theirs', { ...spec('web'), stack: f.owner }, '10');
      assert.throws(
        () => planDeploy(STACK, [spec('web')], true, null, [theirs], LATER),
        (e: unknown) => e instanceof ConflictError && e.code === 'CONFLICT' && e.message.includes('shop_web'),
      );
    });
  }

  it(`refuses more services than fit in one transaction (${MAX_TXN_OPS})`, () => {
    const many = Array.from({ length: MAX_TXN_OPS }, (_, i) => spec(`s${i}`));
    assert.throws(() => planDeploy(STACK, many, false, null, [], LATER), InvalidArgumentError);
    const { ops } = planDeploy(STACK, many.slice(1), false, null, [], LATER);
    assert.equal(ops.length, MAX_TXN_OPS);
  });
});

describe('validateSpec', () => {
  it('accepts a complete spec', () => {
    assert.doesNotThrow(() => validateSpec(spec('web'), STACK));
    assert.doesNotThrow(() =>
      validateSpec(
        spec('web', {
          mode: 'global',
          replicas: 0,
          labels: { a: 'b' },
          container: { command: ['sh'], entrypoint: [], env: ['A=1'], workingDir: '/app', user: '1000:1000', hostname: 'h', stopGracePeriodMs: 0 },
          limits: { memoryBytes: 1 << 20, nanoCpus: 5e8, pids: 100 },
        }),
        STACK,
      ),
    );
  });

  const good = spec('web');
  /** A spec with one field replaced by a value of the wrong shape. */
  const bad = (patch: Record<string, unknown>, container: Record<string, unknown> = {}, lim: Record<string, unknown> = {}): ServiceSpec =>
    ({ ...good, task: { ...good.task, container: { ...good.task.container, ...container }, resources: { ...good.task.resources, limits: { ...good.task.resources.limits, ...lim } } }, ...patch }) as unknown as ServiceSpec;

  const table: { name: string; spec: ServiceSpec; message: RegExp }[] = [
    { name: 'not an object', spec: null as unknown as ServiceSpec, message: /must be an object/ },
    { name: 'a string', spec: 'web' as unknown as ServiceSpec, message: /must be an object/ },
    { name: 'missing name', spec: bad({ name: undefined }), message: /invalid name/ },
    { name: 'name with a slash', spec: bad({ name: 'shop/web' }), message: /invalid name/ },
    { name: 'name starting with a dot', spec: bad({ name: '.web' }), message: /invalid name/ },
    { name: 'name too long', spec: bad({ name: 'a'.repeat(64) }), message: /invalid name/ },
    { name: 'another stack', spec: bad({ stack: 'other' }), message: /belongs to stack other, not shop/ },
    { name: 'no stack', spec: bad({ stack: null }), message: /belongs to stack null/ },
    { name: 'unknown mode', spec: bad({ mode: 'daemonset' }), message: /mode must be/ },
    { name: 'negative replicas', spec: bad({ replicas: -1 }), message: /replicas must be a non-negative integer/ },
    { name: 'fractional replicas', spec: bad({ replicas: 1.5 }), message: /replicas/ },
    { name: 'replicas as a string', spec: bad({ replicas: '3' }), message: /replicas/ },
    { name: 'infinite replicas', spec: bad({ replicas: Infinity }), message: /replicas/ },
    { name: 'missing task template', spec: bad({ task: null }), message: /missing task template/ },
    { name: 'missing container', spec: bad({ task: { ...good.task, container: null } }), message: /missing container spec/ },
    { name: 'missing image', spec: bad({}, { image: undefined }), message: /missing image/ },
    { name: 'empty image', spec: bad({}, { image: '' }), message: /missing image/ },
    { name: 'image not a string', spec: bad({}, { image: 42 }), message: /missing image/ },
    { name: 'non-string env entry', spec: bad({}, { env: ['A=1', 2] }), message: /lists of strings/ },
    { name: 'env null', spec: bad({}, { env: null }), message: /lists of strings/ },
    { name: 'env as a map', spec: bad({}, { env: { A: '1' } }), message: /lists of strings/ },
    { name: 'command as a string', spec: bad({}, { command: 'sleep 1' }), message: /lists of strings/ },
    { name: 'entrypoint with a number', spec: bad({}, { entrypoint: ['sh', 1] }), message: /lists of strings/ },
    { name: 'workingDir a number', spec: bad({}, { workingDir: 1 }), message: /workingDir must be a string/ },
    { name: 'user a number', spec: bad({}, { user: 1000 }), message: /user must be a string/ },
    { name: 'hostname a list', spec: bad({}, { hostname: ['h'] }), message: /hostname must be a string/ },
    { name: 'negative grace period', spec: bad({}, { stopGracePeriodMs: -1 }), message: /stop grace period/ },
    { name: 'grace period as a string', spec: bad({}, { stopGracePeriodMs: '10s' }), message: /stop grace period/ },
    { name: 'missing limits', spec: bad({ task: { ...good.task, resources: { ...good.task.resources, limits: null } } }), message: /missing limits/ },
    { name: 'zero memory limit', spec: bad({}, {}, { memoryBytes: 0 }), message: /limits must be positive integers/ },
    { name: 'negative cpu limit', spec: bad({}, {}, { nanoCpus: -5 }), message: /limits must be positive integers/ },
    { name: 'fractional pids limit', spec: bad({}, {}, { pids: 1.5 }), message: /limits must be positive integers/ },
    { name: 'labels null', spec: bad({ labels: null }), message: /labels must be a map/ },
    { name: 'labels as a list', spec: bad({ labels: ['a=b'] }), message: /labels must be a map/ },
    { name: 'a label value not a string', spec: bad({ labels: { tier: 1 } }), message: /label/ },
  ];
  for (const c of table) {
    it(`rejects ${c.name}`, () => {
      assert.throws(
        () => validateSpec(c.spec, STACK),
        (e: unknown) => {
          assert.ok(e instanceof InvalidArgumentError, `expected InvalidArgumentError, got ${String(e)}`);
          assert.match(e.message, c.message);
          return true;
        },
      );
    });
  }
});

describe('encrypted networks in the API', () => {
  it('refuses a non-boolean encrypted, and stores a missing one as false', async () => {
    const { planNetworks, validateNetworkSpec } = await import('../../../../manager/api/networks');
    const base = { name: 'n', stack: null, driver: 'overlay' as const, subnet: null, attachable: false, labels: {} };
    assert.throws(() => validateNetworkSpec({ ...base, encrypted: 'yes' as unknown as boolean }), /encrypted must be true or false/);
    const made = planNetworks([base as never, { ...base, name: 'e', encrypted: true }], [], NOW);
    assert.deepEqual(made.networks.map((n) => [n.spec.name, n.spec.encrypted]), [['n', false], ['e', true]]);
  });

  it('refuses to redeploy a stack network with its encryption changed', async () => {
    const { planStackNetworks } = await import('../../../../manager/api/deploy');
    const { planNetworks } = await import('../../../../manager/api/networks');
    const spec = { name: 'shop_secure', stack: STACK, driver: 'overlay' as const, subnet: null, attachable: false, labels: {}, encrypted: true };
    const existing = planNetworks([spec], [], NOW).networks;
    assert.deepEqual(planStackNetworks(STACK, [{ key: 'secure', external: false, spec }], [], existing, NOW), []);
    assert.throws(() => planStackNetworks(STACK, [{ key: 'secure', external: false, spec: { ...spec, encrypted: false } }], [], existing, NOW), (e: Error) => e instanceof ConflictError && /exists encrypted; remove the stack to change it/.test(e.message));
  });
});
