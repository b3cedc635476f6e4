/** parseDockerfile (agent/image/build/dockerfile-parse.ts): lines, directives, continuations, heredocs, errors. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../../../shared/errors';
import { DockerfileError, formatWarning } from '../../../agent/image/build/diagnostics';
import { parseDockerfile, parseTrigger } from '../../../agent/image/build/dockerfile-parse';
import type { StageInstruction } from '../../../agent/image/build/dockerfile-types';

/** The instructions of the only stage of `FROM x\n` + body. */
function body(text: string): StageInstruction[] {
  return [...(parseDockerfile(`FROM alpine\n${text}`).stages[0]?.instructions ?? [])];
}

function first(text: string): StageInstruction {
  const ins = body(text)[0];
  assert.ok(ins, 'no instruction parsed');
  return ins;
}

/** Asserts the exact one-line message, and that it is an InvalidArgumentError carrying the line. */
function throwsAt(text: string, message: string, file = 'Dockerfile'): void {
  assert.throws(
    () => parseDockerfile(text, file),
    (e: unknown) => {
      assert.ok(e instanceof InvalidArgumentError, `not an InvalidArgumentError: ${String(e)}`);
      assert.ok(e instanceof DockerfileError);
      assert.equal(e.message, message);
      return true;
    },
  );
}

describe('parseDockerfile: lines and directives', () => {
  it('counts lines past comments and blank lines, and names the stages', () => {
    const df = parseDockerfile('# a comment\n\nFROM alpine AS Build\n\n   # indented comment\nRUN true\n');
    assert.equal(df.stages.length, 1);
    assert.equal(df.stages[0]?.from.line, 3);
    assert.equal(df.stages[0]?.name, 'build');
    assert.equal(df.stages[0]?.instructions[0]?.line, 6);
    assert.deepEqual(df.warnings, []);
  });

  it('reports the syntax directive as ignored, with its line', () => {
    const df = parseDockerfile('# syntax=docker/dockerfile:1.7\nFROM alpine\n');
    assert.deepEqual(df.warnings.map(formatWarning), ['Dockerfile:1: the syntax directive is ignored (tsswarm builds with its own front end)']);
  });

  it('reads directives only at the very top: after a blank line it is a comment', () => {
    const df = parseDockerfile('\n# escape=`\nFROM alpine\nRUN echo a `\n');
    assert.equal(df.escape, '\\');
    const run = df.stages[0]?.instructions[0];
    assert.equal(run?.keyword === 'RUN' && run.command.form === 'shell' && run.command.script, 'echo a `');
  });

  it('refuses a second escape directive and a bad escape token', () => {
    throwsAt('# escape=`\n# escape=\\\nFROM a\n', 'Dockerfile:2: only one escape parser directive can be used');
    throwsAt('# escape=x\nFROM a\n', "Dockerfile:1: invalid escape token 'x' does not match ` or \\");
  });

  it('joins continuation lines, drops comment lines inside them, and keeps the first line number', () => {
    const ins = body('RUN apt-get update && \\\n    # why this package\n    apt-get install -y curl \\\n\n    && rm -rf /var/lib/apt\nUSER nobody\n');
    const run = ins[0];
    assert.equal(run?.keyword, 'RUN');
    assert.equal(run?.line, 2);
    assert.equal(run?.endLine, 6);
    assert.equal(run?.original, 'RUN apt-get update &&     apt-get install -y curl     && rm -rf /var/lib/apt');
    assert.equal(ins[1]?.line, 7);
  });

  it('warns about an empty continuation line', () => {
    const df = parseDockerfile('FROM alpine\nRUN a \\\n\n  b\n');
    assert.equal(df.warnings.length, 1);
    assert.match(formatWarning(df.warnings[0]!), /^Dockerfile:2: empty continuation line/);
  });

  it('an error in a continued instruction names the line it starts on', () => {
    throwsAt('FROM alpine\nRUN true\n\n\nCOPY \\\n  onlyone \\\n  # no destination\n', 'Dockerfile:5: COPY requires at least two arguments: sources and a destination');
  });

  it('does not treat an escaped escape character as a continuation', () => {
    const run = first('RUN echo \\\\\nUSER x\n');
    assert.equal(run.keyword === 'RUN' && run.command.form === 'shell' && run.command.script, 'echo \\\\');
  });

  it('ends an instruction continued at the end of the file', () => {
    const run = first('RUN echo a \\');
    assert.equal(run.keyword === 'RUN' && run.command.form === 'shell' && run.command.script, 'echo a');
  });

  it('reads escape=` with Windows paths: backslashes are plain, backtick continues', () => {
    const df = parseDockerfile('# escape=`\nFROM mcr.microsoft.com/windows/servercore\nCOPY testfile.txt c:\\\nRUN dir c:\\ `\n    /b\nWORKDIR c:\\Users\\app\n');
    assert.equal(df.escape, '`');
    const [copy, run, workdir] = df.stages[0]?.instructions ?? [];
    assert.equal(copy?.keyword === 'COPY' && copy.dest, 'c:\\');
    assert.equal(run?.keyword === 'RUN' && run.command.form === 'shell' && run.command.script, 'dir c:\\     /b');
    assert.equal(run?.line, 4);
    assert.equal(workdir?.keyword === 'WORKDIR' && workdir.path, 'c:\\Users\\app');
    assert.equal(workdir?.line, 6);
  });

  it('accepts CRLF line ends and a UTF-8 BOM', () => {
    const df = parseDockerfile('\uFEFFFROM alpine\r\nRUN a \\\r\n  b\r\n');
    const run = df.stages[0]?.instructions[0];
    assert.equal(run?.keyword === 'RUN' && run.command.form === 'shell' && run.command.script, 'a   b');
  });

  it('keeps keywords case-insensitive', () => {
    const ins = body('run echo hi\nExpose 80\n');
    assert.deepEqual(
      ins.map((i) => i.keyword),
      ['RUN', 'EXPOSE'],
    );
  });
});

describe('parseDockerfile: heredocs', () => {
  it('RUN <<EOF: the body, its lines, and the instruction after it', () => {
    const ins = body('RUN <<EOF\napt-get update\napt-get install -y vim\nEOF\nUSER app\n');
    const run = ins[0];
    assert.ok(run?.keyword === 'RUN');
    assert.deepEqual(run.command, { form: 'shell', script: '<<EOF' });
    assert.deepEqual(run.heredocs, [{ name: 'EOF', content: 'apt-get update\napt-get install -y vim\n', expand: true, chomp: false, fd: null }]);
    assert.equal(run.line, 2);
    assert.equal(run.endLine, 5);
    assert.equal(ins[1]?.line, 6);
  });

  it('<<-EOF strips leading tabs from the body and the delimiter', () => {
    const run = first('RUN <<-EOT bash\n\tif true; then\n\t\techo yes\n\tfi\n\tEOT\n');
    assert.ok(run.keyword === 'RUN');
    assert.equal(run.heredocs[0]?.content, 'if true; then\necho yes\nfi\n');
    assert.equal(run.heredocs[0]?.chomp, true);
  });

  it('a quoted delimiter turns expansion off', () => {
    for (const d of ["'EOF'", '"EOF"']) {
      const run = first(`RUN <<${d}\necho $HOME\nEOF\n`);
      assert.ok(run.keyword === 'RUN');
      assert.equal(run.heredocs[0]?.name, 'EOF');
      assert.equal(run.heredocs[0]?.expand, false);
    }
  });

  it('several heredocs on one line, with a file descriptor', () => {
    const run = first('RUN cat <<A 3<<B\na\nA\nb\nB\n');
    assert.ok(run.keyword === 'RUN');
    assert.deepEqual(
      run.heredocs.map((h) => [h.name, h.content, h.fd]),
      [
        ['A', 'a\n', null],
        ['B', 'b\n', 3],
      ],
    );
  });

  it('COPY <<EOF /path becomes an inline file; paths beside it stay sources', () => {
    const copy = first('COPY --chmod=0644 <<EOF ./local /etc/motd\nWelcome to $HOST\nEOF\n');
    assert.ok(copy.keyword === 'COPY');
    assert.deepEqual(copy.sources, ['./local']);
    assert.equal(copy.dest, '/etc/motd');
    assert.equal(copy.chmod, '0644');
    assert.deepEqual(copy.inline, [{ name: 'EOF', content: 'Welcome to $HOST\n', expand: true, chomp: false, fd: null }]);
  });

  it('quoted "<<EOF" and JSON form open no heredoc', () => {
    const ins = body('RUN echo "<<EOF"\nRUN ["cat", "<<EOF"]\nUSER x\n');
    assert.equal(ins.length, 3);
    assert.ok(ins.every((i) => i.keyword !== 'RUN' || i.heredocs.length === 0));
  });

  it('an unterminated heredoc is an error at its instruction', () => {
    throwsAt('FROM a\nRUN <<EOF\necho\n', 'Dockerfile:2: unterminated heredoc EOF');
  });

  it('refuses a heredoc as the destination', () => {
    throwsAt('FROM a\nCOPY x <<EOF\nhi\nEOF\n', 'Dockerfile:2: COPY cannot accept a heredoc as a destination');
  });
});

describe('parseDockerfile: errors are <file>:<line>: <what>', () => {
  const cases: Array<[string, string]> = [
    ['FROM a\nRUN x\n\n\n\n\nCOPPY a b\n', 'Dockerfile:7: unknown instruction: COPPY'],
    ['FROM a\n\nCOPY onlyone\n', 'Dockerfile:3: COPY requires at least two arguments: sources and a destination'],
    ['ADD x /y\n', 'Dockerfile:1: ADD before the first FROM (only ARG may come before it)'],
    ['', 'Dockerfile:1: no FROM instruction'],
    ['# just a comment\nARG X=1\n', 'Dockerfile:1: no FROM instruction'],
    ['ARG X\nFROM\n', 'Dockerfile:2: FROM requires an image'],
    ['FROM a b\n', 'Dockerfile:1: FROM requires either one or three arguments: FROM image [AS name]'],
    ['FROM a AS 1x\n', 'Dockerfile:1: invalid name for build stage: "1x", name can\'t start with a number or contain symbols'],
    ['FROM a AS x\nFROM b AS X\n', 'Dockerfile:2: duplicate stage name "x" (first at line 1)'],
    ['FROM a\nRUN --mount=type=cache,target=/root/.cache pip install x\n', 'Dockerfile:2: RUN --mount is not supported: build mounts (cache, secret, ssh, bind) are not implemented yet; COPY what the step needs'],
    ['FROM a\nRUN --network=bridge true\n', 'Dockerfile:2: invalid network mode "bridge" (RUN --network takes default, none or host)'],
    ['FROM a\nCOPY --form=b x y\n', 'Dockerfile:2: unknown flag: --form (COPY takes --from, --chown, --chmod, --link)'],
    ['FROM a\nCOPY --from=a --from=b x y\n', 'Dockerfile:2: duplicate flag specified: --from'],
    ['FROM a\nCOPY --from x y\n', 'Dockerfile:2: missing a value on flag: --from'],
    ['FROM a\nCOPY --link=maybe x y\n', 'Dockerfile:2: expecting boolean value for flag --link, not: maybe'],
    ['FROM a\nCOPY --from=$STAGE x y\n', 'Dockerfile:2: variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround'],
    ['FROM a\nENV\n', 'Dockerfile:2: ENV requires at least one argument'],
    ['FROM a\nENV ONLYKEY\n', 'Dockerfile:2: ENV must have two arguments'],
    ['FROM a\nENV a=1 b\n', 'Dockerfile:2: Syntax error - can\'t find = in "b". Must be of the form: name=value'],
    ['FROM a\nLABEL =x\n', 'Dockerfile:2: LABEL names can not be blank'],
    ['FROM a\nARG =1\n', 'Dockerfile:2: ARG names can not be blank'],
    ['FROM a\nWORKDIR\n', 'Dockerfile:2: WORKDIR requires exactly one argument'],
    ['FROM a\nEXPOSE\n', 'Dockerfile:2: EXPOSE requires at least one argument'],
    ['FROM a\nVOLUME [""]\n', 'Dockerfile:2: VOLUME specified can not be an empty string'],
    ['FROM a\nSHELL /bin/bash -c\n', 'Dockerfile:2: SHELL requires the arguments to be in JSON form, e.g. SHELL ["/bin/sh", "-c"]'],
    ['FROM a\nCMD ["a", 1]\n', 'Dockerfile:2: when using JSON array syntax, arrays must be comprised of strings only'],
    ['FROM a\nRUN\n', 'Dockerfile:2: RUN requires at least one argument'],
    ['FROM a\nHEALTHCHECK\n', 'Dockerfile:2: HEALTHCHECK requires at least one argument'],
    ['FROM a\nHEALTHCHECK NONE now\n', 'Dockerfile:2: HEALTHCHECK NONE takes no arguments'],
    ['FROM a\nHEALTHCHECK RUN x\n', 'Dockerfile:2: Unknown type "RUN" in HEALTHCHECK (try CMD)'],
    ['FROM a\nHEALTHCHECK CMD\n', 'Dockerfile:2: Missing command after HEALTHCHECK CMD'],
    ['FROM a\nHEALTHCHECK --interval=5 CMD x\n', 'Dockerfile:2: HEALTHCHECK --interval: time: invalid duration "5"'],
    ['FROM a\nHEALTHCHECK --retries=-1 CMD x\n', 'Dockerfile:2: --retries cannot be negative (-1)'],
    ['FROM a\nONBUILD ONBUILD RUN x\n', "Dockerfile:2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"],
    ['FROM a\nONBUILD FROM b\n', "Dockerfile:2: FROM isn't allowed as an ONBUILD trigger"],
    ['FROM a\nONBUILD MAINTAINER me\n', "Dockerfile:2: MAINTAINER isn't allowed as an ONBUILD trigger"],
    ['FROM a\nONBUILD COPPY x y\n', 'Dockerfile:2: unknown instruction: COPPY'],
    ['FROM a\nMAINTAINER\n', 'Dockerfile:2: MAINTAINER requires exactly one argument'],
  ];
  for (const [text, message] of cases) {
    it(message, () => throwsAt(text, message));
  }

  it('uses the file name it is given', () => {
    throwsAt('FROM a\nCOPPY x y\n', 'app.Dockerfile:2: unknown instruction: COPPY', 'app.Dockerfile');
  });
});

describe('parseDockerfile: ARG before FROM', () => {
  it('keeps ARGs before the first FROM as global, and ARGs after it in the stage', () => {
    const df = parseDockerfile('ARG VERSION=3.19\nARG FLAVOUR\nFROM alpine:${VERSION}\nARG VERSION\n');
    assert.deepEqual(
      df.globalArgs.map((a) => a.args),
      [[{ name: 'VERSION', defaultValue: '3.19' }], [{ name: 'FLAVOUR', defaultValue: null }]],
    );
    const arg = df.stages[0]?.instructions[0];
    assert.deepEqual(arg?.keyword === 'ARG' && arg.args, [{ name: 'VERSION', defaultValue: null }]);
  });
});

describe('parseTrigger', () => {
  it('reads an ONBUILD expression back, at the line of the FROM that uses it', () => {
    const ins = parseTrigger('COPY --from=build /app /app', { file: 'Dockerfile', line: 4, escape: '\\' });
    assert.equal(ins.keyword === 'COPY' && ins.from, 'build');
    assert.equal(ins.line, 4);
  });

  it('round-trips a trigger with a heredoc', () => {
    const onbuild = first('ONBUILD RUN <<EOF\necho built\nEOF\n');
    assert.ok(onbuild.keyword === 'ONBUILD');
    assert.equal(onbuild.expression, 'RUN <<EOF\necho built\nEOF');
    const again = parseTrigger(onbuild.expression, { file: 'Dockerfile', line: 1, escape: '\\' });
    assert.ok(again.keyword === 'RUN');
    assert.equal(again.heredocs[0]?.content, 'echo built\n');
  });

  it('refuses a bad trigger with the FROM line', () => {
    assert.throws(() => parseTrigger('COPPY a b', { file: 'Dockerfile', line: 9, escape: '\\' }), { message: 'Dockerfile:9: unknown instruction: COPPY' });
  });
});
