import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ComposeError } from '../../../shared/errors';
import { parseDotenv } from '../../../shared/compose/dotenv';

describe('parseDotenv', () => {
  it('reads the usual forms', () => {
    const text = [
      '# a comment',
      '',
      'PLAIN=value',
      '  SPACED = padded value  ',
      'export EXPORTED=yes',
      'EMPTY=',
      "SINGLE='literal $X \\n'",
      'DOUBLE="line\\nbreak \\"q\\""',
      'INLINE=value # comment',
      'HASH=a#b',
      "QUOTED_COMMENT='x' # comment",
      'EQUALS=a=b=c',
      'WINDOWS=crlf\r',
      '__proto__=safe',
    ].join('\n');
    const env = parseDotenv(text, '.env');
    assert.deepEqual({ ...env }, {
      PLAIN: 'value',
      SPACED: 'padded value',
      EXPORTED: 'yes',
      EMPTY: '',
      SINGLE: 'literal $X \\n',
      DOUBLE: 'line\nbreak "q"',
      INLINE: 'value',
      HASH: 'a#b',
      QUOTED_COMMENT: 'x',
      EQUALS: 'a=b=c',
      WINDOWS: 'crlf',
      ['__proto__']: 'safe',
    });
    assert.equal(Object.getPrototypeOf(env), null);
  });

  const errors: [string, RegExp, number][] = [
    ['OK=1\nNOEQUALS', /expected KEY=VALUE/, 2],
    ['1BAD=x', /invalid variable name "1BAD"/, 1],
    ['A="open', /unterminated double-quoted value/, 1],
    ["\n\nA='x' trailing", /unexpected text after the quoted value/, 3],
  ];
  for (const [text, pattern, line] of errors) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      assert.throws(
        () => parseDotenv(text, '/stacks/app/.env'),
        (e: unknown) =>
          e instanceof ComposeError && pattern.test(e.message) && e.line === line && e.file === '/stacks/app/.env' && e.message.includes(`(line ${line})`),
      );
    });
  }
});
