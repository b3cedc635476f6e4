import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { applyRoleChange, type HostConfig } from '../../../cli/init/config';

const worker: HostConfig = {
  dataRoot: '/d',
  role: 'worker',
  managers: ['10.0.0.1:4242'],
  joinToken: 'SWMTKN-1-x-y',
  advertiseAddr: '10.0.0.3',
  externalEtcd: [],
  etcdClientPort: 0,
  etcdPeerPort: 0,
  grpcPort: 0,
  registryPort: 0,
  cgroupParent: 'tsswarm',
  hostname: 'h3',
};
const change = { managers: ['10.0.0.1:4242', '10.0.0.2:4242'], etcd_endpoints: ['http://10.0.0.1:2379'], etcd_managed: true, etcd_name: 'h3-10-0-0-3', etcd_initial_cluster: 'a=http://10.0.0.1:2380,h3-10-0-0-3=http://10.0.0.3:2380' };

describe('applyRoleChange', () => {
  it('promotes a worker: manager ports, its etcd member as the manager prepared it, the live managers', () => {
    const m = applyRoleChange(worker, { role: 'manager', ...change });
    assert.equal(m.role, 'manager');
    assert.deepEqual([m.etcdClientPort, m.etcdPeerPort, m.grpcPort, m.registryPort], [2379, 2380, 4242, 4243]);
    assert.equal(m.etcdName, 'h3-10-0-0-3');
    assert.equal(m.etcdInitialCluster, change.etcd_initial_cluster);
    assert.deepEqual(m.etcdMembers, ['http://10.0.0.1:2379']);
    assert.deepEqual(m.externalEtcd, []);
    assert.deepEqual(m.managers, change.managers);
  });
  it('promotes onto external etcd: the endpoints, no member of its own', () => {
    const m = applyRoleChange(worker, { role: 'manager', ...change, etcd_managed: false, etcd_name: '', etcd_initial_cluster: '' });
    assert.deepEqual(m.externalEtcd, ['http://10.0.0.1:2379']);
    assert.equal(m.etcdName, undefined);
  });
  it('demotes a manager: no etcd, no manager ports, the member settings gone', () => {
    const m = applyRoleChange(applyRoleChange(worker, { role: 'manager', ...change }), { role: 'worker', ...change, managers: [] });
    assert.equal(m.role, 'worker');
    assert.deepEqual([m.etcdClientPort, m.grpcPort], [0, 0]);
    assert.equal('etcdName' in m, false);
    assert.deepEqual(m.managers, change.managers, 'an empty list keeps the managers it had');
  });
  it('refuses an unknown role', () => {
    assert.throws(() => applyRoleChange(worker, { role: 'boss', ...change }), /unknown role/);
  });
});
