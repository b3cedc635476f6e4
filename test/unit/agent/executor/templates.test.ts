import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expandContainerSpec, expandTemplate, templateContext, type NodeFacts, type TemplateContext } from '../../../../agent/executor/templates';
import type { Mount } from '../../../../shared/types';
import { containerSpec } from '../../fixtures';

const node: NodeFacts = { id: 'n0de1d', hostname: 'worker-1', platform: { os: 'linux', architecture: 'amd64' } };
const task = { id: 't4sk1d', serviceId: 's3rv1c3', serviceName: 'shop_web', slot: 2 };
const ctx: TemplateContext = templateContext(task, node, { tier: 'front', 'com.docker.stack.namespace': 'shop' });

describe('expandTemplate (Swarm placeholders)', () => {
  const table: { text: string; want: string }[] = [
    { text: 'plain', want: 'plain' },
    { text: '{{.Service.Name}}', want: 'shop_web' },
    { text: '{{.Service.ID}}', want: 's3rv1c3' },
    { text: '{{.Service.Labels}}', want: 'map[com.docker.stack.namespace:shop tier:front]' },
    { text: '{{index .Service.Labels "tier"}}', want: 'front' },
    { text: '{{ index .Service.Labels `com.docker.stack.namespace` }}', want: 'shop' },
    { text: '{{index .Service.Labels "missing"}}', want: '' },
    { text: '{{.Node.ID}}', want: 'n0de1d' },
    { text: '{{.Node.Hostname}}', want: 'worker-1' },
    { text: '{{.Node.Platform.OS}}/{{.Node.Platform.Architecture}}', want: 'linux/amd64' },
    { text: '{{.Task.ID}}', want: 't4sk1d' },
    { text: '{{.Task.Name}}', want: 'shop_web.2.t4sk1d' },
    { text: '{{.Task.Slot}}', want: '2' },
    { text: '{{ .Task.Slot }}', want: '2' },
    { text: '{{\t.Task.Slot\n}}', want: '2' },
    { text: 'db-{{.Task.Slot}}.{{.Node.Hostname}}:5432', want: 'db-2.worker-1:5432' },
    { text: 'a {{- .Task.Slot -}} b', want: 'a2b' },
    { text: '{{-3}}', want: '{{-3}}' },
    { text: '{{.Unknown}}', want: '{{.Unknown}}' },
    { text: '{{.Service.Name | printf "%s"}}', want: '{{.Service.Name | printf "%s"}}' },
    { text: '{{env "HOME"}}', want: '{{env "HOME"}}' },
    { text: '{{.Service.Name', want: '{{.Service.Name' },
    { text: '{{.Task.Slot}} {{', want: '2 {{' },
    { text: '}} {{.Task.ID}}', want: '}} t4sk1d' },
    { text: '{{.task.slot}}', want: '{{.task.slot}}' },
  ];
  for (const c of table) it(JSON.stringify(c.text), () => assert.equal(expandTemplate(c.text, ctx), c.want));

  it('a global task (no slot): Task.Name has the node id, Task.Slot is 0', () => {
    const g = templateContext({ ...task, slot: null }, node, {});
    assert.equal(expandTemplate('{{.Task.Name}} {{.Task.Slot}} {{.Service.Labels}}', g), 'shop_web.n0de1d.t4sk1d 0 map[]');
  });
});

describe('expandContainerSpec', () => {
  const vol: Mount = {
    type: 'volume',
    source: 'data-{{.Task.Slot}}',
    target: '/srv/{{.Service.Name}}',
    readOnly: false,
    bind: null,
    volume: { noCopy: false, labels: { slot: '{{.Task.Slot}}' }, driver: { name: 'local', options: { device: '/exports/{{.Node.Hostname}}' } } },
    tmpfs: null,
  };
  const c = containerSpec({
    env: ['SLOT={{.Task.Slot}}', '{{.Task.Slot}}=name-not-expanded', 'NOVALUE', 'EQ=a=b={{.Node.ID}}'],
    hostname: '{{.Service.Name}}-{{.Task.Slot}}',
    mounts: [vol],
    command: ['echo', '{{.Task.Slot}}'],
    labels: { l: '{{.Task.Slot}}' },
  });
  const x = expandContainerSpec(c, ctx);

  it('env values, not names', () => assert.deepEqual(x.env, ['SLOT=2', '{{.Task.Slot}}=name-not-expanded', 'NOVALUE', 'EQ=a=b=n0de1d']));
  it('hostname', () => assert.equal(x.hostname, 'shop_web-2'));
  it('mount source, target, volume labels and driver options', () => {
    assert.equal(x.mounts[0]?.source, 'data-2');
    assert.equal(x.mounts[0]?.target, '/srv/shop_web');
    assert.deepEqual(x.mounts[0]?.volume?.labels, { slot: '2' });
    assert.deepEqual(x.mounts[0]?.volume?.driver, { name: 'local', options: { device: '/exports/worker-1' } });
  });
  it('nothing else (command, labels), and the input is not changed', () => {
    assert.deepEqual(x.command, ['echo', '{{.Task.Slot}}']);
    assert.deepEqual(x.labels, { l: '{{.Task.Slot}}' });
    assert.equal(c.mounts[0]?.source, 'data-{{.Task.Slot}}');
    assert.equal(c.hostname, '{{.Service.Name}}-{{.Task.Slot}}');
  });
  it('a null hostname stays null', () => assert.equal(expandContainerSpec(containerSpec(), ctx).hostname, null));
});
