/** Docker's variable substitution (agent/image/build/shell-words.ts) and expandInstruction / argValues. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../../../shared/errors';
import { argValues, expandInstruction } from '../../../agent/image/build/expand-instruction';
import { parseDockerfile } from '../../../agent/image/build/dockerfile-parse';
import type { StageInstruction } from '../../../agent/image/build/dockerfile-types';
import { expandHeredocBody, expandWord, expandWords } from '../../../agent/image/build/shell-words';

const vars = { NAME: 'web', EMPTY: '', PATHS: '/a /b', FILE: 'archive.tar.gz', DIR: '/usr/local/bin' };

describe('expandWord', () => {
  const cases: Array<[string, string]> = [
    ['$NAME', 'web'],
    ['${NAME}', 'web'],
    ['pre-${NAME}-post', 'pre-web-post'],
    ['$NAME_x', ''],
    ['${NAME}_x', 'web_x'],
    ['$UNSET', ''],
    ['${UNSET:-dflt}', 'dflt'],
    ['${EMPTY:-dflt}', 'dflt'],
    ['${EMPTY-dflt}', ''],
    ['${UNSET-dflt}', 'dflt'],
    ['${NAME:-dflt}', 'web'],
    ['${NAME:+alt}', 'alt'],
    ['${EMPTY:+alt}', ''],
    ['${EMPTY+alt}', 'alt'],
    ['${UNSET+alt}', ''],
    ['${UNSET:-$NAME}', 'web'],
    ['${UNSET:-"a b"}', 'a b'],
    ['\\$NAME', '$NAME'],
    ["'$NAME'", '$NAME'],
    ['"$NAME"', 'web'],
    ['"\\$NAME"', '$NAME'],
    ['"a\\b"', 'a\\b'],
    ['a\\ b', 'a b'],
    ['"a b"c', 'a bc'],
    ['$', '$'],
    ['a$', 'a$'],
    ['$1', ''],
    ['${FILE#*.}', 'tar.gz'],
    ['${FILE##*.}', 'gz'],
    ['${FILE%.*}', 'archive.tar'],
    ['${FILE%%.*}', 'archive'],
    ['${DIR/local/opt}', '/usr/opt/bin'],
    ['${DIR//\\//:}', ':usr:local:bin'],
    ['${NAME:?must be set}', 'web'],
  ];
  for (const [word, want] of cases) {
    it(`${word} → ${JSON.stringify(want)}`, () => assert.equal(expandWord(word, vars), want));
  }

  it('with escape=` backslashes are literal', () => {
    assert.equal(expandWord('c:\\$NAME', vars, '`'), 'c:\\web');
    assert.equal(expandWord('`$NAME', vars, '`'), '$NAME');
  });

  const bad: Array<[string, RegExp]> = [
    ['${NAME', /missing '}'/],
    ['${}', /bad substitution/],
    ['${NAME:x}', /unsupported modifier \(:x\)/],
    ['${UNSET:?must be set}', /UNSET: must be set/],
    ['${UNSET?}', /UNSET: is not allowed to be unset/],
    ['${EMPTY:?}', /EMPTY: is not allowed to be empty/],
    ['"open', /matching double-quote/],
    ["'open", /matching single-quote/],
  ];
  for (const [word, re] of bad) {
    it(`refuses ${word}`, () => {
      assert.throws(
        () => expandWord(word, vars),
        (e: unknown) => e instanceof InvalidArgumentError && re.test(e.message) && e.message.startsWith(`failed to process "${word}"`),
      );
    });
  }
});

describe('expandWords', () => {
  it('splits unquoted expansions and keeps quoted ones whole', () => {
    assert.deepEqual(expandWords('$PATHS "$PATHS" x\\ y', vars), ['/a', '/b', '/a /b', 'x y']);
    assert.deepEqual(expandWords('$EMPTY 80', vars), ['80']);
  });
});

describe('expandHeredocBody', () => {
  it('expands variables and keeps quotes as text', () => {
    assert.equal(expandHeredocBody('name="$NAME"\nliteral=\\$NAME\n', vars), 'name="web"\nliteral=$NAME\n');
  });
});

function stageOf(text: string): StageInstruction[] {
  return [...(parseDockerfile(`FROM a\n${text}`).stages[0]?.instructions ?? [])];
}
const at = { file: 'Dockerfile', escape: '\\' as const };

describe('expandInstruction', () => {
  it('ENV pairs all see the variables from before the instruction', () => {
    const [env] = stageOf('ENV NAME=api OTHER=$NAME Q="x $NAME"');
    assert.ok(env?.keyword === 'ENV');
    assert.deepEqual(expandInstruction(env, vars, at).pairs, [
      { key: 'NAME', value: 'api' },
      { key: 'OTHER', value: 'web' },
      { key: 'Q', value: 'x web' },
    ]);
  });

  it('COPY sources, destination, --chown and an unquoted heredoc are expanded; a quoted one is not', () => {
    const [copy, quoted] = stageOf("COPY --chown=$NAME ${NAME}.conf <<EOF /etc/$NAME/\nhost=$NAME\nEOF\nCOPY <<'EOF' /x\nhost=$NAME\nEOF\n");
    assert.ok(copy?.keyword === 'COPY' && quoted?.keyword === 'COPY');
    const e = expandInstruction(copy, vars, at);
    assert.deepEqual([e.chown, e.sources, e.dest, e.inline[0]?.content], ['web', ['web.conf'], '/etc/web/', 'host=web\n']);
    assert.equal(expandInstruction(quoted, vars, at).inline[0]?.content, 'host=$NAME\n');
  });

  it('EXPOSE splits an expansion into ports; WORKDIR, USER, VOLUME, STOPSIGNAL, LABEL expand', () => {
    const ins = stageOf('EXPOSE $PORTS 443/udp\nWORKDIR /srv/$NAME\nUSER ${NAME}:${NAME}\nVOLUME ["/data/$NAME"]\nSTOPSIGNAL ${SIG:-SIGTERM}\nLABEL app=$NAME');
    const got = ins.map((i) => expandInstruction(i, { ...vars, PORTS: '80 8080' }, at));
    assert.deepEqual(got[0]?.keyword === 'EXPOSE' && got[0].ports, ['80', '8080', '443/udp']);
    assert.equal(got[1]?.keyword === 'WORKDIR' && got[1].path, '/srv/web');
    assert.equal(got[2]?.keyword === 'USER' && got[2].user, 'web:web');
    assert.deepEqual(got[3]?.keyword === 'VOLUME' && got[3].paths, ['/data/web']);
    assert.equal(got[4]?.keyword === 'STOPSIGNAL' && got[4].signal, 'SIGTERM');
    assert.deepEqual(got[5]?.keyword === 'LABEL' && got[5].pairs, [{ key: 'app', value: 'web' }]);
  });

  it('leaves RUN, CMD and ENTRYPOINT to the shell', () => {
    for (const ins of stageOf('RUN echo $NAME\nCMD echo $NAME\nENTRYPOINT ["echo", "$NAME"]')) {
      assert.equal(expandInstruction(ins, vars, at), ins);
    }
  });

  it('an expansion error names the file and line', () => {
    const [, workdir] = stageOf('RUN true\nWORKDIR ${NAME');
    assert.ok(workdir);
    assert.throws(() => expandInstruction(workdir, vars, at), { message: `Dockerfile:3: failed to process "\${NAME": syntax error: missing '}'` });
  });
});

describe('argValues', () => {
  const [arg] = stageOf('ARG A=1 B=$A C GLOBAL');
  assert.ok(arg?.keyword === 'ARG');

  it('default, earlier names in scope, declared-without-value, inherited global', () => {
    assert.deepEqual(argValues(arg, { vars: {}, buildArgs: {}, globalArgs: { GLOBAL: 'g' } }, at), [
      { name: 'A', value: '1' },
      { name: 'B', value: '1' },
      { name: 'C', value: null },
      { name: 'GLOBAL', value: 'g' },
    ]);
  });

  it('a build arg wins over the default and the global', () => {
    assert.deepEqual(
      argValues(arg, { vars: {}, buildArgs: { A: '5', GLOBAL: 'cli' }, globalArgs: { GLOBAL: 'g' } }, at).map((a) => a.value),
      ['5', '5', null, 'cli'],
    );
  });
});
