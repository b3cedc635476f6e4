import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../../../shared/errors';
import { flagList, flagString, parseFlags } from '../../../shared/flags';

const VALUED = ['name', 'n', 'file', 'c'];
const BOOLS = ['prune', 'q', 'detach'];

describe('parseFlags', () => {
  const table: { name: string; argv: string[]; flags: [string, string | true][]; positionals: string[] }[] = [
    { name: 'nothing', argv: [], flags: [], positionals: [] },
    { name: 'positionals only', argv: ['deploy', 'shop'], flags: [], positionals: ['deploy', 'shop'] },
    { name: '--name value', argv: ['--name', 'x'], flags: [['name', 'x']], positionals: [] },
    { name: '--name=value', argv: ['--name=x'], flags: [['name', 'x']], positionals: [] },
    { name: '--name= gives an empty value', argv: ['--name='], flags: [['name', '']], positionals: [] },
    { name: 'a value may contain =', argv: ['--name=a=b'], flags: [['name', 'a=b']], positionals: [] },
    { name: 'a value may look like a flag', argv: ['--name', '--prune'], flags: [['name', '--prune']], positionals: [] },
    { name: 'a boolean flag', argv: ['--prune'], flags: [['prune', true]], positionals: [] },
    { name: 'a short boolean', argv: ['-q'], flags: [['q', true]], positionals: [] },
    { name: 'a short valued flag', argv: ['-c', 'stack.yml'], flags: [['c', 'stack.yml']], positionals: [] },
    {
      name: 'flags and positionals mixed',
      argv: ['stack', '--prune', 'deploy', '-c', 'f.yml', 'shop'],
      flags: [
        ['prune', true],
        ['c', 'f.yml'],
      ],
      positionals: ['stack', 'deploy', 'shop'],
    },
    { name: 'the last of a repeated flag wins', argv: ['--name', 'a', '--name=b'], flags: [['name', 'b']], positionals: [] },
    { name: '-- ends the flags', argv: ['--prune', '--', '--name', '-q', 'x'], flags: [['prune', true]], positionals: ['--name', '-q', 'x'] },
    { name: 'a lone - is a positional', argv: ['-'], flags: [], positionals: ['-'] },
  ];
  for (const c of table) {
    it(c.name, () => {
      const p = parseFlags(c.argv, VALUED, BOOLS);
      assert.deepEqual([...p.flags.entries()], c.flags);
      assert.deepEqual(p.positionals, c.positionals);
    });
  }

  const errors: { name: string; argv: string[]; message: RegExp }[] = [
    { name: 'an unknown long flag', argv: ['--nope'], message: /unknown flag: --nope/ },
    { name: 'an unknown short flag', argv: ['-z'], message: /unknown flag: -z/ },
    { name: 'a valued flag with no value', argv: ['deploy', '--name'], message: /flag --name needs a value/ },
    { name: 'a short valued flag with no value', argv: ['-c'], message: /flag --c needs a value/ },
  ];
  for (const c of errors) {
    it(`rejects ${c.name}`, () => {
      assert.throws(
        () => parseFlags(c.argv, VALUED, BOOLS),
        (e: unknown) => e instanceof InvalidArgumentError && c.message.test(e.message),
      );
    });
  }

  it('a boolean flag given =false is not turned on', () => {
    // `--prune=false` must never mean "prune": either refuse it or honour the value.
    let p: ReturnType<typeof parseFlags> | null = null;
    try {
      p = parseFlags(['--prune=false'], VALUED, BOOLS);
    } catch (e) {
      assert.ok(e instanceof InvalidArgumentError, String(e));
      return;
    }
    assert.notEqual(p.flags.get('prune'), true, '--prune=false enabled pruning');
  });
});

describe('flagString', () => {
  const p = parseFlags(['--name', 'x', '--prune'], VALUED, BOOLS);
  const table: [string, string | null][] = [
    ['name', 'x'],
    ['prune', null],
    ['file', null],
  ];
  for (const [name, want] of table) it(`${name} → ${String(want)}`, () => assert.equal(flagString(p, name), want));
});

describe('repeatable flags', () => {
  it('keeps every value of a repeatable flag, and the last of any other', () => {
    const p = parseFlags(['--label-add', 'a=1', '--label-add=b=2', '--x', '1', '--x', '2', 'n1'], ['label-add', 'x'], [], ['label-add']);
    assert.deepEqual(flagList(p, 'label-add'), ['a=1', 'b=2']);
    assert.equal(flagString(p, 'x'), '2');
    assert.deepEqual(flagList(p, 'missing'), []);
    assert.deepEqual(p.positionals, ['n1']);
  });
});
