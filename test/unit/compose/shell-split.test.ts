import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ShellSplitError, shellSplit } from '../../../shared/compose/shell-split';

describe('shellSplit', () => {
  const cases: [string, string[]][] = [
    ['', []],
    ['   ', []],
    ['httpd -f -p 8080', ['httpd', '-f', '-p', '8080']],
    ['  a\t b \n c ', ['a', 'b', 'c']],
    ["sh -c 'while true; do sleep 3600; done'", ['sh', '-c', 'while true; do sleep 3600; done']],
    ['echo "hello world"', ['echo', 'hello world']],
    ['echo "a \\"quoted\\" word"', ['echo', 'a "quoted" word']],
    ['echo "back\\\\slash"', ['echo', 'back\\slash']],
    ['echo "keep \\n as is"', ['echo', 'keep \\n as is']],
    ["echo 'no \\ escapes \"here\"'", ['echo', 'no \\ escapes "here"']],
    ['echo a\\ b', ['echo', 'a b']],
    ['echo \\"x\\"', ['echo', '"x"']],
    ['echo $HOME ${X} *', ['echo', '$HOME', '${X}', '*']],
    ["a''b", ['ab']],
    ["a '' b", ['a', '', 'b']],
    ['x ""', ['x', '']],
    ['pre"mid"\'post\'', ['premidpost']],
    ['one \\\ntwo', ['one', 'two']],
  ];
  for (const [input, want] of cases) {
    it(`${JSON.stringify(input)}`, () => assert.deepEqual(shellSplit(input), want));
  }

  const errors: [string, RegExp][] = [
    ["echo 'open", /unterminated single quote/],
    ['echo "open', /unterminated double quote/],
    ['echo \\', /trailing backslash/],
  ];
  for (const [input, pattern] of errors) {
    it(`${JSON.stringify(input)} fails`, () => {
      assert.throws(() => shellSplit(input), (e: unknown) => e instanceof ShellSplitError && pattern.test(e.message));
    });
  }
});
