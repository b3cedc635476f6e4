import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { networkViews } from '../../../../manager/dispatcher/network-views';
import type { Network, NetworkAttachment, Task } from '../../../../shared/types';
import { NOW, node, service, task } from '../../fixtures';

const net = (id: string, third: number): Network => ({
  v: 1, id, spec: { name: `app_${id}`, stack: 'app', driver: 'overlay', subnet: null, attachable: false, labels: {}, encrypted: false },
  subnet: `10.0.${third}.0/24`, gateway: `10.0.${third}.1`, vni: 4096 + third, ingress: false, nodeEndpoints: {}, createdAt: NOW,
});
const at = (n: Network, host: number): NetworkAttachment => ({ networkId: n.id, networkName: n.spec.name, address: `${n.subnet.replace(/0\/24$/, String(host))}/24`, mac: '02:42:00:00:00:01', aliases: [] });

describe('networkViews', () => {
  const front = net('front', 1);
  const back = net('back', 2);
  const db = service({ id: 'db', name: 'app_db', networks: [{ target: 'app_back', aliases: [] }] });
  const result = service({ id: 'res', name: 'app_result', networks: [{ target: 'app_front', aliases: [] }, { target: 'app_back', aliases: [] }] });
  const withNets = (t: Task, ...a: NetworkAttachment[]): Task => ({ ...t, nodeId: 'n1', networks: a });

  it("tells each network's DNS which of the node's containers are on other networks too", () => {
    const tasks = [withNets(task(db, { id: 'd1' }), at(back, 5)), withNets(task(result, { id: 'r1' }), at(front, 7), at(back, 8))];
    const views = networkViews('n1', tasks, [front, back], [db, result], [node('n1')]);
    const f = views.find((v) => v.id === 'front')!;
    const b = views.find((v) => v.id === 'back')!;
    assert.deepEqual(f.dnsSources, [{ ip: '10.0.1.7', networkIds: ['back'] }]);
    assert.deepEqual(b.dnsSources, [{ ip: '10.0.2.8', networkIds: ['front'] }]);
  });

  it('only ready tasks are DNS answers and VIP backends: a task whose health check has not passed is left out', () => {
    const web = service({ id: 'web', name: 'app_web', networks: [{ target: 'app_front', aliases: [] }] });
    const tasks = [
      withNets(task(web, { id: 'w1', status: { health: 'healthy' } }), at(front, 10)),
      withNets(task(web, { id: 'w2', slot: 2, status: { health: 'starting' } }), at(front, 11)),
      withNets(task(web, { id: 'w3', slot: 3, status: { health: 'unhealthy' } }), at(front, 12)),
      withNets(task(web, { id: 'w4', slot: 4 }), at(front, 13)),
    ];
    const [v] = networkViews('n1', tasks, [front], [{ ...web, spec: { ...web.spec, endpoint: { mode: 'dnsrr', ports: [] } } }], [node('n1')]);
    assert.deepEqual(v!.dns.find((d) => d.name === 'tasks.app_web')?.ips, ['10.0.1.10', '10.0.1.13']);
  });

  it("the ingress network tells every node all the routing mesh's entry points, its own included; other networks none", () => {
    const ingress: Network = { ...net('ingress', 0), ingress: true, nodeEndpoints: { n1: '10.0.0.251', n2: '10.0.0.250' } };
    const web = service({ id: 'web', name: 'web', networks: [{ target: 'app_front', aliases: [] }] });
    const tasks = [withNets(task(web, { id: 'w1' }), at(ingress, 5), at(front, 5))];
    const views = networkViews('n1', tasks, [ingress, front], [web], [node('n1'), node('n2')]);
    assert.deepEqual(views.find((v) => v.id === 'ingress')!.nodeEndpoints, ['10.0.0.250', '10.0.0.251']);
    assert.equal(views.find((v) => v.id === 'front')!.nodeEndpoints, undefined);
  });
});
