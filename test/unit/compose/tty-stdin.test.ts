/**
 * compose `tty` and `stdin_open`: read as Docker reads booleans into ContainerSpec.tty / .openStdin,
 * no longer in the "Ignoring unsupported options" warning, and checked again by the API
 * (manager/api/validate-task.ts) on what a client sends.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateSpec } from '../../../manager/api/deploy';
import { InvalidArgumentError } from '../../../shared/errors';
import { SERVICE, classifyKey } from '../../../shared/compose/schema';
import type { ContainerSpec, ServiceSpec, StackDeployment } from '../../../shared/types';
import { load, problemsOf } from './helpers';

/** A one-service stack whose service `web` has `lines` (indented under it) after its image, from line 4 on. */
function web(...lines: string[]): string {
  return ['services:', '  web:', '    image: busybox', ...lines.map((l) => `    ${l}`), ''].join('\n');
}

function containerOf(stack: StackDeployment): ContainerSpec {
  const s = stack.services[0];
  assert.ok(s, 'no service');
  return s.task.container;
}

describe('compose tty and stdin_open', () => {
  it('are supported keys now, not ignored ones', () => {
    assert.equal(classifyKey(SERVICE, 'tty'), 'supported');
    assert.equal(classifyKey(SERVICE, 'stdin_open'), 'supported');
    assert.deepEqual(load(web('tty: true', 'stdin_open: true')).warnings, []);
  });

  const cases: { name: string; lines: string[]; tty: boolean; openStdin: boolean; env?: Record<string, string> }[] = [
    { name: 'both true', lines: ['tty: true', 'stdin_open: true'], tty: true, openStdin: true },
    { name: 'tty alone', lines: ['tty: true'], tty: true, openStdin: false },
    { name: 'stdin_open alone', lines: ['stdin_open: true'], tty: false, openStdin: true },
    { name: 'both false', lines: ['tty: false', 'stdin_open: false'], tty: false, openStdin: false },
    { name: 'neither', lines: [], tty: false, openStdin: false },
    // YAML 1.1 spellings, quoted or not, as docker/cli casts boolean keys.
    { name: 'yes and on', lines: ['tty: yes', 'stdin_open: on'], tty: true, openStdin: true },
    { name: '"Yes" and "OFF"', lines: ['tty: "Yes"', 'stdin_open: "OFF"'], tty: true, openStdin: false },
    { name: 'no', lines: ['tty: no'], tty: false, openStdin: false },
    { name: 'interpolated', lines: ['tty: ${TTY}', 'stdin_open: ${OPEN:-true}'], tty: true, openStdin: true, env: { TTY: 'true' } },
  ];
  for (const c of cases) {
    it(`reads ${c.name}`, () => {
      const spec = containerOf(load(web(...c.lines), { env: c.env ?? {} }));
      assert.equal(spec.tty ?? false, c.tty);
      assert.equal(spec.openStdin ?? false, c.openStdin);
    });
  }

  it('false is left out of the spec, as in records from before the keys: redeploying an unchanged file changes nothing', () => {
    const spec = containerOf(load(web('tty: false', 'stdin_open: no')));
    assert.equal('tty' in spec, false);
    assert.equal('openStdin' in spec, false);
    const set = containerOf(load(web('tty: true', 'stdin_open: true')));
    assert.equal(set.tty, true);
    assert.equal(set.openStdin, true);
  });

  it('a value that is not a boolean is a problem naming the key and its line', () => {
    assert.deepEqual(problemsOf(web('tty: 1', 'stdin_open: maybe')), [
      'services.web.tty: must be true or false, got 1 (line 4)',
      'services.web.stdin_open: must be true or false, got "maybe" (line 5)',
    ]);
  });
});

describe('the API checks tty and openStdin (validateTaskExtras)', () => {
  const from = (...lines: string[]): ServiceSpec => {
    const s = load(web(...lines)).services[0];
    assert.ok(s);
    return s;
  };
  const withContainer = (s: ServiceSpec, extra: Record<string, unknown>): ServiceSpec =>
    ({ ...s, task: { ...s.task, container: { ...s.task.container, ...extra } } }) as unknown as ServiceSpec;

  it('accepts what compose makes: both set, and both absent (a spec from before them)', () => {
    assert.doesNotThrow(() => validateSpec(from('tty: true', 'stdin_open: true'), 'test'));
    assert.doesNotThrow(() => validateSpec(from(), 'test'));
    assert.doesNotThrow(() => validateSpec(withContainer(from(), { tty: false, openStdin: false }), 'test'));
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['tty as a string', { tty: 'true' }, /tty must be true or false/],
    ['tty null', { tty: null }, /tty must be true or false/],
    ['openStdin as a number', { openStdin: 1 }, /openStdin must be true or false/],
  ];
  for (const [name, extra, message] of bad) {
    it(`rejects ${name}`, () => {
      assert.throws(
        () => validateSpec(withContainer(from(), extra), 'test'),
        (e: unknown) => {
          assert.ok(e instanceof InvalidArgumentError, `expected InvalidArgumentError, got ${String(e)}`);
          assert.match(e.message, message);
          return true;
        },
      );
    });
  }
});
