/** readDockerignore (agent/image/build/dockerignore.ts): Docker's pattern rules and the walker's questions. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../../../shared/errors';
import { readDockerignore } from '../../../agent/image/build/dockerignore';

/** Table: patterns, then [path, excluded?]. */
const cases: Array<[string, Array<[string, boolean]>]> = [
  ['node_modules', [['node_modules', true], ['node_modules/x/y.js', true], ['src/node_modules', false], ['node_modules2', false]]],
  ['/build/', [['build', true], ['build/out.o', true], ['src/build', false]]],
  ['./docs/../tmp', [['tmp', true], ['docs', false]]],
  ['*.md', [['README.md', true], ['docs/README.md', false], ['readme.MD', false]]],
  ['*/*.md', [['docs/a.md', true], ['a.md', false], ['docs/sub/a.md', false]]],
  ['**/*.md', [['a.md', true], ['docs/a.md', true], ['docs/sub/a.md', true], ['a.mdx', false]]],
  ['**.log', [['x.log', true], ['a/b/x.log', true], ['x.log.1', false]]],
  ['**/secret', [['secret', true], ['a/secret', true], ['a/secret/key', true], ['a/notsecret', false]]],
  ['logs/**', [['logs/a', true], ['logs/a/b', true], ['logs', false]]],
  ['a/**/z', [['a/z', true], ['a/b/c/z', true], ['b/z', false]]],
  ['file?.txt', [['file1.txt', true], ['file.txt', false], ['file10.txt', false]]],
  ['[a-c]*.js', [['app.js', true], ['cat.js', true], ['dog.js', false]]],
  ['[^a]*.js', [['b.js', true], ['a.js', false]]],
  ['a+b', [['a+b', true], ['aab', false]]],
  ['(x)', [['(x)', true], ['x', false]]],
  ['{a,b}', [['{a,b}', true], ['a', false]]],
  ['\\*.txt', [['*.txt', true], ['a.txt', false]]],
  ['# a comment\n\n  spaced.txt  ', [['spaced.txt', true], ['# a comment', false]]],
  [' #not-a-comment', [['#not-a-comment', true]]],
  ['*', [['anything', true], ['dir/file', true], ['.', false]]],
  // Exceptions: the last matching pattern wins.
  ['*.md\n!README.md', [['README.md', false], ['CHANGES.md', true]]],
  ['!README.md\n*.md', [['README.md', true]]],
  ['docs\n!docs/keep.md', [['docs', true], ['docs/keep.md', false], ['docs/other.md', true]]],
  ['docs\n!docs/keep\ndocs/keep/tmp', [['docs/keep/a', false], ['docs/keep/tmp/x', true]]],
  ['**/*.go\n!vendor/**', [['main.go', true], ['vendor/x/a.go', false]]],
];

describe('readDockerignore: matches', () => {
  for (const [patterns, paths] of cases) {
    for (const [path, excluded] of paths) {
      it(`${JSON.stringify(patterns)}: ${path} ${excluded ? 'excluded' : 'kept'}`, () => {
        assert.equal(readDockerignore(patterns).matches(path), excluded);
      });
    }
  }

  it('cleans the paths it is asked about', () => {
    const m = readDockerignore('build');
    assert.equal(m.matches('./build/x'), true);
    assert.equal(m.matches('/build'), true);
    assert.equal(m.matches('src/../build'), true);
  });

  it('keeps the patterns as Docker cleans them', () => {
    assert.deepEqual(readDockerignore('/a/b/\n! ./c\n**/d/\n').patterns, ['a/b', '!c', '**/d']);
  });
});

describe('readDockerignore: the walker', () => {
  it('descends an excluded directory only when an exception may match below it', () => {
    const m = readDockerignore('docs\nbuild\n!docs/keep.md\n');
    assert.equal(m.mayContainExceptions('docs'), true);
    assert.equal(m.mayContainExceptions('build'), false);
    assert.deepEqual(
      [m.decide('docs', true), m.decide('build', true), m.decide('docs/keep.md', false), m.decide('docs/x.md', false), m.decide('src', true)],
      ['descend', 'skip', 'include', 'skip', 'include'],
    );
  });

  it('an exception with a wildcard may match anywhere', () => {
    const m = readDockerignore('*\n!**/*.go\n');
    assert.equal(m.mayContainExceptions('any/dir'), true);
    assert.equal(m.decide('any', true), 'descend');
    assert.equal(m.matches('any/dir/main.go'), false);
  });

  it('an exception with a trailing /** counts for its directory', () => {
    const m = readDockerignore('vendor\n!vendor/keep/**\n');
    assert.equal(m.mayContainExceptions('vendor'), true);
    assert.equal(m.mayContainExceptions('vendor/keep'), true);
    assert.equal(m.mayContainExceptions('vendor/drop'), false);
  });

  it('no exceptions: nothing excluded is walked', () => {
    assert.equal(readDockerignore('a\n').mayContainExceptions('a'), false);
  });
});

describe('readDockerignore: errors', () => {
  const bad: Array<[string, string]> = [
    ['ok\n!\n', '.dockerignore:2: illegal exclusion pattern: "!"'],
    ['[a', '.dockerignore:1: bad pattern "[a": syntax error in pattern'],
    ['x\n[]a]', '.dockerignore:2: bad pattern "[]a]": syntax error in pattern'],
    ['[a-]', '.dockerignore:1: bad pattern "[a-]": syntax error in pattern'],
    ['trailing\\', '.dockerignore:1: bad pattern "trailing\\": syntax error in pattern'],
  ];
  for (const [text, message] of bad) {
    it(message, () => {
      assert.throws(
        () => readDockerignore(text),
        (e: unknown) => e instanceof InvalidArgumentError && e.message === message,
      );
    });
  }
});
