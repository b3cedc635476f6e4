import { strict as assert } from 'node:assert';
import { it } from 'node:test';
import { planClusterUpdate } from '../../../../manager/api/cluster';
import type { Cluster } from '../../../../shared/types';

const c = { heartbeatPeriodMs: 500, heartbeatGraceMs: 1500 } as Cluster;

it('planClusterUpdate changes the period and grace it is given and keeps the others', () => {
  assert.deepEqual(planClusterUpdate(c, { heartbeatPeriodMs: 250 }), { heartbeatPeriodMs: 250, heartbeatGraceMs: 1500 });
  assert.deepEqual(planClusterUpdate(c, { heartbeatPeriodMs: 1000, heartbeatGraceMs: 5000 }), { heartbeatPeriodMs: 1000, heartbeatGraceMs: 5000 });
});

it('planClusterUpdate refuses a period out of range and a grace under two periods', () => {
  assert.throws(() => planClusterUpdate(c, { heartbeatPeriodMs: 10 }), /period must be between 100ms and 60s/);
  assert.throws(() => planClusterUpdate(c, { heartbeatPeriodMs: 1000 }), /grace must be at least twice the period \(2000ms\)/);
  assert.throws(() => planClusterUpdate(c, { heartbeatGraceMs: 1.5 }), /grace must be/);
});
