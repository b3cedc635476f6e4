/** What each instruction's reader keeps (agent/image/build/read-*.ts), through parseDockerfile. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatWarning } from '../../../agent/image/build/diagnostics';
import { parseDockerfile } from '../../../agent/image/build/dockerfile-parse';
import type { StageInstruction } from '../../../agent/image/build/dockerfile-types';

function first(text: string): StageInstruction {
  const ins = parseDockerfile(`FROM alpine\n${text}`).stages[0]?.instructions[0];
  assert.ok(ins, 'no instruction parsed');
  return ins;
}

/** The instruction without line, endLine and original, for deepEqual. */
function args(text: string): Record<string, unknown> {
  const { line: _l, endLine: _e, original: _o, ...rest } = first(text);
  return rest;
}

describe('FROM', () => {
  it('image, AS name (lower-cased), --platform', () => {
    const from = parseDockerfile('FROM --platform=$BUILDPLATFORM golang:1.22 as Builder\n').stages[0]?.from;
    assert.deepEqual(
      { image: from?.image, stageName: from?.stageName, platform: from?.platform },
      { image: 'golang:1.22', stageName: 'builder', platform: '$BUILDPLATFORM' },
    );
  });
});

describe('RUN, CMD, ENTRYPOINT, SHELL', () => {
  it('exec form and shell form', () => {
    assert.deepEqual(args('CMD ["nginx", "-g", "daemon off;"]'), { keyword: 'CMD', command: { form: 'exec', args: ['nginx', '-g', 'daemon off;'] } });
    assert.deepEqual(args('ENTRYPOINT exec nginx -g "daemon off;"'), { keyword: 'ENTRYPOINT', command: { form: 'shell', script: 'exec nginx -g "daemon off;"' } });
    assert.deepEqual(args('CMD []'), { keyword: 'CMD', command: { form: 'exec', args: [] } });
  });

  it('JSON strings are decoded (spaces, escapes, unicode)', () => {
    assert.deepEqual(args('CMD ["a b", "c\\"d", "\\u0041"]'), { keyword: 'CMD', command: { form: 'exec', args: ['a b', 'c"d', 'A'] } });
  });

  it('text that is not a JSON array is shell form, including a broken array', () => {
    assert.deepEqual(args("CMD ['single', 'quotes']"), { keyword: 'CMD', command: { form: 'shell', script: "['single', 'quotes']" } });
    assert.deepEqual(args('CMD ["unterminated"'), { keyword: 'CMD', command: { form: 'shell', script: '["unterminated"' } });
  });

  it('RUN shell form is not expanded and keeps --network', () => {
    assert.deepEqual(args('RUN --network=none echo $HOME'), { keyword: 'RUN', command: { form: 'shell', script: 'echo $HOME' }, heredocs: [], network: 'none' });
    assert.deepEqual(args('RUN ["/bin/true"]'), { keyword: 'RUN', command: { form: 'exec', args: ['/bin/true'] }, heredocs: [], network: 'default' });
  });

  it('SHELL takes a JSON array', () => {
    assert.deepEqual(args('SHELL ["powershell", "-command"]'), { keyword: 'SHELL', shell: ['powershell', '-command'] });
  });
});

describe('ENV, LABEL, ARG', () => {
  it('ENV k=v pairs keep quotes and escapes for expansion', () => {
    assert.deepEqual(args('ENV A=1 B="two words" C=three\\ words D='), {
      keyword: 'ENV',
      pairs: [
        { key: 'A', value: '1' },
        { key: 'B', value: '"two words"' },
        { key: 'C', value: 'three\\ words' },
        { key: 'D', value: '' },
      ],
    });
  });

  it('the old ENV k v form takes the rest of the line as the value', () => {
    assert.deepEqual(args('ENV PATH_EXTRA  /opt/bin  /usr/local/bin'), { keyword: 'ENV', pairs: [{ key: 'PATH_EXTRA', value: '/opt/bin  /usr/local/bin' }] });
  });

  it('LABEL with quoted keys and values', () => {
    assert.deepEqual(args('LABEL "com.example.vendor"="ACME Inc" version=1.0 description=\'a b\''), {
      keyword: 'LABEL',
      pairs: [
        { key: '"com.example.vendor"', value: '"ACME Inc"' },
        { key: 'version', value: '1.0' },
        { key: 'description', value: "'a b'" },
      ],
    });
  });

  it('ARG with and without defaults', () => {
    assert.deepEqual(args('ARG A B=2 C="x y"'), {
      keyword: 'ARG',
      args: [
        { name: 'A', defaultValue: null },
        { name: 'B', defaultValue: '2' },
        { name: 'C', defaultValue: '"x y"' },
      ],
    });
  });
});

describe('EXPOSE, VOLUME, WORKDIR, USER, STOPSIGNAL, MAINTAINER', () => {
  it('EXPOSE ports with protocols', () => {
    assert.deepEqual(args('EXPOSE 80 443/udp 8000-8010/tcp'), { keyword: 'EXPOSE', ports: ['80', '443/udp', '8000-8010/tcp'] });
  });

  it('VOLUME in JSON and plain form', () => {
    assert.deepEqual(args('VOLUME ["/a", "/b c"]'), { keyword: 'VOLUME', paths: ['/a', '/b c'] });
    assert.deepEqual(args('VOLUME /a /b'), { keyword: 'VOLUME', paths: ['/a', '/b'] });
  });

  it('WORKDIR, USER and STOPSIGNAL keep the whole value', () => {
    assert.deepEqual(args('WORKDIR /my app'), { keyword: 'WORKDIR', path: '/my app' });
    assert.deepEqual(args('USER 1000:1000'), { keyword: 'USER', user: '1000:1000' });
    assert.deepEqual(args('STOPSIGNAL SIGQUIT'), { keyword: 'STOPSIGNAL', signal: 'SIGQUIT' });
  });

  it('MAINTAINER becomes the author, with a deprecation warning', () => {
    const df = parseDockerfile('FROM a\nMAINTAINER Jane <jane@example.com>\n');
    const m = df.stages[0]?.instructions[0];
    assert.equal(m?.keyword === 'MAINTAINER' && m.author, 'Jane <jane@example.com>');
    assert.match(formatWarning(df.warnings[0]!), /^Dockerfile:2: MAINTAINER is deprecated/);
  });
});

describe('HEALTHCHECK', () => {
  it('CMD in shell form with every option', () => {
    assert.deepEqual(args('HEALTHCHECK --interval=30s --timeout=3s --start-period=1m --start-interval=500ms --retries=3 CMD curl -f http://localhost/ || exit 1'), {
      keyword: 'HEALTHCHECK',
      health: { test: ['CMD-SHELL', 'curl -f http://localhost/ || exit 1'], intervalMs: 30_000, timeoutMs: 3000, startPeriodMs: 60_000, startIntervalMs: 500, retries: 3 },
    });
  });

  it('CMD in exec form; options not given stay null', () => {
    assert.deepEqual(args('HEALTHCHECK CMD ["/bin/check", "--quick"]'), {
      keyword: 'HEALTHCHECK',
      health: { test: ['CMD', '/bin/check', '--quick'], intervalMs: null, timeoutMs: null, startPeriodMs: null, startIntervalMs: null, retries: null },
    });
  });

  it('NONE', () => {
    assert.deepEqual(args('HEALTHCHECK NONE'), {
      keyword: 'HEALTHCHECK',
      health: { test: ['NONE'], intervalMs: null, timeoutMs: null, startPeriodMs: null, startIntervalMs: null, retries: null },
    });
  });
});

describe('COPY and ADD', () => {
  it('sources and destination, with flags', () => {
    assert.deepEqual(args('COPY --from=build --chown=app:app --chmod=755 --link a b /dst/'), {
      keyword: 'COPY',
      sources: ['a', 'b'],
      inline: [],
      dest: '/dst/',
      chown: 'app:app',
      chmod: '755',
      link: true,
      from: 'build',
    });
  });

  it('JSON form: the last element is the destination', () => {
    assert.deepEqual(args('ADD ["my file.txt", "other", "/data dir/"]'), {
      keyword: 'ADD',
      sources: ['my file.txt', 'other'],
      inline: [],
      dest: '/data dir/',
      chown: null,
      chmod: null,
      link: false,
    });
  });

  it('--link=false, and quoted flag values', () => {
    const copy = first('COPY --link=false --chown="1000:1000" a /b');
    assert.ok(copy.keyword === 'COPY');
    assert.equal(copy.link, false);
    assert.equal(copy.chown, '1000:1000');
  });
});

describe('ONBUILD', () => {
  it('keeps the trigger as text and parsed', () => {
    const ob = first('ONBUILD COPY --from=0 . /app');
    assert.ok(ob.keyword === 'ONBUILD');
    assert.equal(ob.expression, 'COPY --from=0 . /app');
    assert.equal(ob.trigger.keyword === 'COPY' && ob.trigger.from, '0');
    assert.equal(ob.trigger.line, 2);
  });
});

describe('original', () => {
  it('is the instruction on one line, for history', () => {
    assert.equal(first('CMD ["x"]').original, 'CMD ["x"]');
    assert.equal(first('RUN a \\\n  b').original, 'RUN a   b');
  });
});
