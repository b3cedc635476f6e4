import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseYaml } from '../../../shared/compose/parse';
import { templateProblem, withStandIns } from '../../../shared/compose/templates';
import { yaml11Boolean, yaml11FileMode } from '../../../shared/compose/yaml11';
import { assertFails, load, service, yaml } from './helpers';

/** The node of `value` as the stack file's parser reads it. */
function scalar(value: string): Parameters<typeof yaml11Boolean>[0] {
  const parsed = parseYaml(`v: ${value}\n`);
  assert.ok(parsed.ok && parsed.root?.kind === 'map');
  const node = parsed.root.entries[0]?.value;
  assert.ok(node);
  return node;
}

describe('YAML 1.1 readings where docker/cli has them', () => {
  const booleans: [string, boolean | null][] = [
    ['true', true], ['false', false], ['yes', true], ['no', false], ['on', true], ['off', false],
    ['Yes', true], ['NO', false], ['On', true], ['y', true], ['n', false], ['"yes"', true], ["'off'", false],
    ['"true"', true], ['maybe', null], ['1', null], ['0', null], ['""', null], ['[true]', null],
  ];
  for (const [text, want] of booleans) {
    it(`boolean ${text} → ${String(want)}`, () => assert.equal(yaml11Boolean(scalar(text)), want));
  }

  const modes: [string, number | null][] = [
    ['0440', 0o440], ['0777', 0o777], ['0', 0], ['00', 0], ['0o640', 0o640], ['"0440"', 0o440], ["'0600'", 0o600], ['"0o400"', 0o400],
    ['440', 440], ['292', 0o444], ['"292"', 292], ['0999', null], ['"0800"', null], ['-1', null], ['rw', null], ['1.5', null], ['0x1ff', 0o777],
  ];
  for (const [text, want] of modes) {
    it(`file mode ${text} → ${want === null ? 'invalid' : `0${want.toString(8)}`}`, () => assert.equal(yaml11FileMode(scalar(text)), want));
  }

  it('boolean keys across the file take YAML 1.1 spellings', () => {
    const stack = load(yaml`
      services:
        web:
          image: busybox
          read_only: yes
          init: on
          privileged: off
          networks: [front, ext]
          volumes:
            - {type: bind, source: /srv, target: /srv, read_only: "yes"}
      networks:
        front: {attachable: yes}
        ext: {external: on}
    `);
    const web = service(stack, 'test_web');
    assert.equal(web.task.container.runtime.readOnly, true);
    assert.equal(web.task.container.runtime.init, true);
    assert.equal(web.task.container.runtime.privileged, false);
    assert.equal(web.task.container.mounts[0]?.readOnly, true);
    assert.deepEqual(stack.networks.map((n) => [n.key, n.external, n.spec.attachable]), [['front', false, true], ['ext', true, false]]);
  });

  it('a non-boolean at a boolean key names the key', () => {
    assertFails('services:\n  web:\n    image: busybox\n    init: sometimes\n', /services\.web\.init: must be true or false, got "sometimes"/, 4);
  });
});

describe('Swarm templates in hostname, environment and mounts', () => {
  const ok: string[] = ['{{.Node.Hostname}}-kibana', 'web-{{.Task.Slot}}', '{{ .Service.Name }}.{{.Node.ID}}', 'plain', '{{.Task.Name}}'];
  for (const h of ok) {
    it(`hostname ${h} is accepted as written`, () => {
      const s = service(load(`services:\n  web:\n    image: busybox\n    hostname: "${h}"\n`), 'test_web');
      assert.equal(s.task.container.hostname, h);
    });
  }

  it('environment values keep their templates for the agent', () => {
    const s = service(load('services:\n  web:\n    image: busybox\n    environment:\n      SLOT: "{{.Task.Slot}}"\n'), 'test_web');
    assert.deepEqual(s.task.container.env, ['SLOT={{.Task.Slot}}']);
  });

  const bad: [string, RegExp][] = [
    ['{{.Node.Nickname}}-x', /unknown template placeholder "\{\{\.Node\.Nickname\}\}": use one of \{\{\.Service\.ID\}\}/],
    ['{{.Task.Slot}-x', /unbalanced template braces/],
    ['{{.Task.Slot}}_x y', /invalid hostname "\{\{\.Task\.Slot\}\}_x y"/],
    ['-{{.Task.Slot}}', /invalid hostname/],
  ];
  for (const [h, pattern] of bad) {
    it(`hostname ${h} is refused`, () => assertFails(`services:\n  web:\n    image: busybox\n    hostname: "${h}"\n`, pattern, 4));
  }

  it('validates around placeholders with a stand-in', () => {
    assert.equal(withStandIns('{{.Node.Hostname}}-kibana'), 'x-kibana');
    assert.equal(templateProblem('no templates'), null);
    assert.equal(templateProblem('a}}b'), 'unbalanced template braces in "a}}b"');
  });
});

describe('template placeholders the agent expands', () => {
  const ok = ['{{.Task.Slot}}', '{{ .Task.Slot }}', '{{- .Node.ID -}}', '{{index .Service.Labels "com.example.team"}}', '{{index .Service.Labels `a`}}', 'a{{.Service.ID}}b{{.Task.ID}}'];
  for (const t of ok) it(`${t} is known`, () => assert.equal(templateProblem(t), null));
  const bad = ['{{.Task}}', '{{index .Node.Labels "x"}}', '{{printf "%s" .Task.Slot}}', '{{.Task.Slot'];
  for (const t of bad) it(`${t} is refused`, () => assert.notEqual(templateProblem(t), null));
});
