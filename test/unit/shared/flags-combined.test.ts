import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../../../shared/errors';
import { parseFlags } from '../../../shared/flags';

const VALUED = ['name', 'u', 'e', 'w'];
const BOOLS = ['i', 't', 'q', 'a', 'all', 'detach'];

describe('parseFlags: short boolean flags together', () => {
  const table: { name: string; argv: string[]; flags: [string, string | true][]; positionals: string[] }[] = [
    { name: '-it is -i -t', argv: ['-it'], flags: [['i', true], ['t', true]], positionals: [] },
    { name: '-ti is -t -i', argv: ['-ti'], flags: [['t', true], ['i', true]], positionals: [] },
    { name: 'three at once', argv: ['-itq'], flags: [['i', true], ['t', true], ['q', true]], positionals: [] },
    { name: 'a letter twice', argv: ['-ii'], flags: [['i', true]], positionals: [] },
    { name: 'among positionals and other flags', argv: ['exec', '-it', '--name', 'x', 'task'], flags: [['i', true], ['t', true], ['name', 'x']], positionals: ['exec', 'task'] },
    { name: 'the same as given apart', argv: ['-i', '-t'], flags: [['i', true], ['t', true]], positionals: [] },
    { name: 'after --, a positional', argv: ['--', '-it'], flags: [], positionals: ['-it'] },
    { name: 'as the value of a valued flag, a value', argv: ['--name', '-it'], flags: [['name', '-it']], positionals: [] },
    // Current behaviour: a group with a letter that is not a boolean is not taken apart, nor refused:
    // it is a positional (unlike Docker, where `-iu root` is `-i -u root`).
    { name: 'with a valued letter last (-iu): a positional', argv: ['-iu', 'root'], flags: [], positionals: ['-iu', 'root'] },
    { name: 'with a valued letter first (-ui): a positional', argv: ['-ui'], flags: [], positionals: ['-ui'] },
    { name: 'with a valued letter between (-iet): a positional', argv: ['-iet', 'A=1'], flags: [], positionals: ['-iet', 'A=1'] },
    { name: 'with an unknown letter (-iz): a positional, no error', argv: ['-iz'], flags: [], positionals: ['-iz'] },
    { name: 'a long name with one dash (-all): a positional', argv: ['-all'], flags: [], positionals: ['-all'] },
    { name: 'digits (-12): a positional', argv: ['-12'], flags: [], positionals: ['-12'] },
    { name: 'with =: a positional', argv: ['-it=true'], flags: [], positionals: ['-it=true'] },
  ];
  for (const c of table) {
    it(c.name, () => {
      const p = parseFlags(c.argv, VALUED, BOOLS);
      assert.deepEqual([...p.flags.entries()], c.flags);
      assert.deepEqual(p.positionals, c.positionals);
    });
  }

  it('a group after the rest begins stays the command’s', () => {
    const p = parseFlags(['exec', '-it', 'task', 'sh', '-lc', '-it'], VALUED, BOOLS, [], (pos) => pos.length === 2 && pos[0] === 'exec');
    assert.deepEqual([...p.flags.entries()], [['i', true], ['t', true]]);
    assert.deepEqual(p.positionals, ['exec', 'task', 'sh', '-lc', '-it']);
  });

  it('a single short flag is still checked: an unknown one is refused', () => {
    assert.throws(() => parseFlags(['-z'], VALUED, BOOLS), (e: unknown) => e instanceof InvalidArgumentError && /unknown flag: -z/.test(e.message));
  });

  it('--it (two dashes) is a long flag, not a group', () => {
    assert.throws(() => parseFlags(['--it'], VALUED, BOOLS), (e: unknown) => e instanceof InvalidArgumentError && /unknown flag: --it/.test(e.message));
  });
});
