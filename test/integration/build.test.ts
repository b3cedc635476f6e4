/**
 * `tsswarm build` on a real cluster: a multi-stage Dockerfile with every instruction (ARG before
 * FROM, heredocs, COPY --from, --chown, --chmod, ADD of a tar, ONBUILD, .dockerignore, whiteouts),
 * RUN steps in the project's own runtime, the image stored in the cluster registry and run on
 * three hosts; a second build taken from the cache (no RUN runs again), a changed COPY rebuilding
 * only what follows it, a stack with `build:` deployed, and bad Dockerfiles refused with their line.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { requireRoot } from './harness/root';
import { TestHosts } from './harness/hosts';
import { eventually } from './harness/cluster';

interface TaskRow { id: string; node: string | null; desiredState: string; state: string }

const DOCKERFILE = `# syntax=docker/dockerfile:1
ARG BASE=busybox
FROM \${BASE}:latest AS base
LABEL org.example.stage=base
ENV GREETING="hello world" \\
    OTHER=x
WORKDIR /app
COPY --chown=1000:1000 --chmod=0640 conf.txt ./
RUN echo "run-base $GREETING" && echo built > /app/built.txt
ONBUILD RUN echo onbuild-trigger > /app/onbuild.txt

FROM base AS tools
ARG VERSION=1
RUN echo "run-tools $VERSION" && echo "version $VERSION" > /app/version.txt

FROM busybox:latest
ARG VERSION
ENV APP_MODE=production
LABEL org.example.app=demo
COPY --from=tools /app/ /app/
ADD bundle.tar /opt/
COPY src/ /src/
COPY <<EOF /etc/greeting
hi \${VERSION}
EOF
RUN <<EOF
set -e
echo run-heredoc
rm /app/built.txt
EOF
RUN ["sh", "-c", "echo run-exec && echo exec > /app/exec.txt"]
SHELL ["/bin/sh", "-ec"]
EXPOSE 8080 53/udp
VOLUME /data
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --timeout=2s CMD ["true"]
MAINTAINER test@example.com
USER 1000:1000
ENTRYPOINT ["sh", "-c"]
CMD ["cat /app/version.txt /etc/greeting; sleep 1000"]
`;

describe('tsswarm build', () => {
  let hosts: TestHosts;
  let ctxDir = '';
  const build = (args: string[]) => hosts.cli(hosts.manager, ['build', ...args]);
  /** A line a RUN step printed (the Step lines echo the instruction, not its output). */
  const printed = (out: string, line: string) => out.split('\n').includes(line);
  const inspect = (ref: string) => hosts.json<Array<{ digest: string; config: Record<string, unknown>; layers: unknown[] }>>(['image', 'inspect', ref])[0]!;

  before(() => {
    requireRoot();
    hosts = new TestHosts(3);
    hosts.start();
    hosts.importBusybox();
    ctxDir = path.join(hosts.root, 'build-ctx');
    fs.mkdirSync(path.join(ctxDir, 'src', 'sub'), { recursive: true });
    fs.writeFileSync(path.join(ctxDir, 'Dockerfile'), DOCKERFILE);
    fs.writeFileSync(path.join(ctxDir, 'conf.txt'), 'conf v1\n');
    fs.writeFileSync(path.join(ctxDir, 'src', 'a.txt'), 'a\n');
    fs.writeFileSync(path.join(ctxDir, 'src', 'sub', 'b.txt'), 'b\n');
    fs.writeFileSync(path.join(ctxDir, 'src', 'debug.log'), 'noise\n');
    fs.writeFileSync(path.join(ctxDir, 'src', 'keep.log'), 'kept\n');
    fs.writeFileSync(path.join(ctxDir, 'secret.txt'), 'never in the image\n');
    fs.writeFileSync(path.join(ctxDir, '.dockerignore'), 'secret.txt\n**/*.log\n!src/keep.log\n');
    const bundle = path.join(hosts.root, 'bundle');
    fs.mkdirSync(path.join(bundle, 'lib'), { recursive: true });
    fs.writeFileSync(path.join(bundle, 'lib', 'tool.txt'), 'tool\n');
    assert.equal(spawnSync('tar', ['-C', bundle, '--owner=1000', '--group=1000', '-cf', path.join(ctxDir, 'bundle.tar'), 'lib']).status, 0);
  });

  after(() => {
    hosts?.destroy();
  });

  it('builds a multi-stage Dockerfile with every instruction into the cluster registry, and it runs on three hosts', async () => {
    const r = build(['-t', 'local/app:1', '-t', 'local/app:latest', '--build-arg', 'VERSION=7', ctxDir]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    for (const line of ['run-base hello world', 'run-tools 7', 'run-heredoc', 'run-exec', 'Successfully tagged local/app:1', 'Successfully tagged local/app:latest']) {
      assert.ok(printed(r.stdout, line), `${line} in:\n${r.stdout}`);
    }
    assert.match(r.stdout, /\[Warning\] Dockerfile:1: the syntax directive is ignored/);
    assert.match(r.stdout, /^Step 1\/\d+ : FROM busybox:latest AS base$/m);
    const img = inspect('local/app:1');
    assert.equal(inspect('local/app:latest').digest, img.digest);
    const c = img.config;
    assert.deepEqual(c['Env'], ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'APP_MODE=production'], 'the base stage\'s ENV is its own; a base without PATH gets Docker\'s');
    assert.deepEqual(c['Entrypoint'], ['sh', '-c']);
    assert.deepEqual(c['Cmd'], ['cat /app/version.txt /etc/greeting; sleep 1000']);
    assert.deepEqual(Object.keys(c['ExposedPorts'] as object).sort(), ['53/udp', '8080/tcp']);
    assert.deepEqual(Object.keys(c['Volumes'] as object), ['/data']);
    assert.equal(c['User'], '1000:1000');
    assert.equal(c['WorkingDir'], undefined, 'WORKDIR was the base stage\'s');
    assert.equal(c['StopSignal'], 'SIGINT');
    assert.deepEqual(c['Shell'], ['/bin/sh', '-ec']);
    assert.deepEqual((c['Healthcheck'] as { Test: string[] }).Test, ['CMD', 'true']);
    assert.deepEqual(c['Labels'], { 'org.example.app': 'demo' }, 'the base stage\'s LABEL is its own');
    assert.equal(c['OnBuild'], undefined, 'the base stage\'s triggers ran in the stage built on it, and are not passed on');

    hosts.ok(hosts.manager, ['service', 'create', '--detach', '--name', 'built', '--replicas', '3', '--replicas-max-per-node', '1', '--stop-grace-period', '1s', 'local/app:1']);
    const tasks = await eventually('3 replicas running', () => {
      const t = hosts.json<TaskRow[]>(['service', 'ps', 'built']).filter((x) => x.desiredState === 'running' && x.state === 'running');
      return new Set(t.map((x) => x.node)).size === 3 ? t : null;
    }, 120000);
    const sh = (script: string) => hosts.ok(hosts.manager, ['exec', tasks[0]!.id, 'sh', '-c', script]);
    assert.equal(sh('cat /app/version.txt /etc/greeting'), 'version 7\nhi 7\n');
    assert.equal(sh('cat /app/onbuild.txt /app/exec.txt /opt/lib/tool.txt'), 'onbuild-trigger\nexec\ntool\n');
    assert.equal(sh('test ! -e /app/built.txt && echo removed'), 'removed\n', 'a file removed by a RUN is a whiteout in its layer');
    assert.equal(sh('stat -c "%u:%g %a" /app/conf.txt /opt/lib/tool.txt'), '1000:1000 640\n1000:1000 644\n');
    assert.equal(sh('ls -A /src /src/sub | tr "\\n" " "'), '/src: a.txt keep.log sub  /src/sub: b.txt ');
    assert.equal(sh('test ! -e /secret.txt && id -u'), '1000\n');
    hosts.ok(hosts.manager, ['service', 'rm', 'built']);
  });

  it('a second build comes from the cache; a changed COPY rebuilds only the steps after it', () => {
    const again = build(['-t', 'local/app:1', '--build-arg', 'VERSION=7', ctxDir]);
    assert.equal(again.code, 0, again.stderr + again.stdout);
    for (const line of ['run-base hello world', 'run-tools 7', 'run-heredoc', 'run-exec']) assert.ok(!printed(again.stdout, line), `no RUN ran again, but: ${line}\n${again.stdout}`);
    assert.ok((again.stdout.match(/ ---> Using cache/g) ?? []).length >= 8, again.stdout);

    fs.writeFileSync(path.join(ctxDir, 'src', 'a.txt'), 'a changed\n');
    const changed = build(['-t', 'local/app:2', '--build-arg', 'VERSION=7', ctxDir]);
    assert.equal(changed.code, 0, changed.stderr + changed.stdout);
    // The stages before the change and the final stage's steps up to COPY src/ are cached; from it on everything runs.
    for (const line of ['run-base hello world', 'run-tools 7']) assert.ok(!printed(changed.stdout, line), `${line} ran:\n${changed.stdout}`);
    for (const line of ['run-heredoc', 'run-exec']) assert.ok(printed(changed.stdout, line), `${line} did not run:\n${changed.stdout}`);
    const before = inspect('local/app:1').layers;
    const after = inspect('local/app:2').layers;
    assert.equal(before.length, after.length);
    const same = before.findIndex((l, i) => JSON.stringify(l) !== JSON.stringify(after[i]));
    assert.equal(same, before.length - 4, 'every layer up to the changed COPY is the same blob');

    // --target: the image is that stage, built from the cache, and what only later stages need is not built.
    const tools = build(['--target', 'tools', '-t', 'local/tools:1', '--build-arg', 'VERSION=7', ctxDir]);
    assert.equal(tools.code, 0, tools.stderr + tools.stdout);
    assert.ok(!tools.stdout.includes('FROM busybox:latest\n') && !tools.stdout.includes('ENTRYPOINT'), `the final stage is not built: ${tools.stdout}`);
    const tc = inspect('local/tools:1').config;
    assert.equal(tc['WorkingDir'], '/app');
    assert.deepEqual(tc['Labels'], { 'org.example.stage': 'base' });
    assert.ok((tc['Env'] as string[]).includes('GREETING=hello world'));

    const fresh = build(['--no-cache', '-t', 'local/app:3', '--build-arg', 'VERSION=7', ctxDir]);
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.ok(printed(fresh.stdout, 'run-base hello world') && !fresh.stdout.includes('Using cache'), fresh.stdout);
  });

  it('a stack whose service has build: deploys', async () => {
    const dir = path.join(hosts.root, 'stack-build');
    fs.mkdirSync(path.join(dir, 'web'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'web', 'Containerfile'), 'FROM busybox\nARG WORD\nRUN echo "$WORD" > /word\nCMD ["sh", "-c", "cat /word; sleep 1000"]\n');
    fs.writeFileSync(path.join(dir, 'stack.yml'), ['services:', '  web:', '    build:', '      context: ./web', '      dockerfile: Containerfile', '      args:', '        WORD: from-the-stack', '    stop_grace_period: 1s', '    deploy:', '      replicas: 2', ''].join('\n'));
    const r = hosts.cli(hosts.manager, ['deploy', '-c', path.join(dir, 'stack.yml'), 'sb']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /^Building sb_web \(sb-web:latest\)$/m);
    await eventually('2 replicas running', () => hosts.json<TaskRow[]>(['service', 'ps', 'sb_web']).filter((x) => x.desiredState === 'running' && x.state === 'running').length === 2, 120000);
    const logs = await eventually('the built file in its log', () => {
      const out = hosts.ok(hosts.manager, ['service', 'logs', '--raw', 'sb_web']);
      return out.includes('from-the-stack') ? out : null;
    });
    assert.match(logs, /from-the-stack/);
    hosts.ok(hosts.manager, ['stack', 'rm', 'sb']);
  });

  it('bad Dockerfiles: one line naming the Dockerfile line, nothing tagged', () => {
    const dir = path.join(hosts.root, 'bad');
    fs.mkdirSync(dir, { recursive: true });
    const tagsBefore = hosts.json<Array<{ ref: string }>>(['image', 'ls']).map((i) => i.ref);
    for (const [text, message, extra] of [
      ['FROM busybox\nCOPPY a b\n', /^error: Dockerfile:2: unknown instruction: COPPY/, ''],
      ['FROM busybox\n\nCOPY missing.txt /x\n', /^error: Dockerfile:3: COPY failed: file not found in build context/, ''],
      ['FROM busybox\nCOPY *.nothing /x/\n', /^error: Dockerfile:2: COPY failed: no source files were specified/, ''],
      ['FROM busybox\nRUN echo about to fail && exit 3\n', /^error: Dockerfile:2: RUN failed: the command '\/bin\/sh -c echo about to fail && exit 3' returned a non-zero code: 3/, 'about to fail'],
      ['FROM busybox AS a\nCOPY --from=b /x /x\nFROM busybox AS b\nCOPY --from=a /y /y\n', /^error: Dockerfile:\d: COPY --from=\w refers to a stage that depends on this one/, ''],
      ['FROM --platform=linux/s390x busybox\n', /^error: Dockerfile:1: FROM --platform=linux\/s390x: this host builds linux\/\w+ images only/, ''],
    ] as Array<[string, RegExp, string]>) {
      fs.writeFileSync(path.join(dir, 'Dockerfile'), text);
      const r = build(['-t', 'local/bad:1', dir]);
      assert.equal(r.code, 1, `${text}: ${r.stdout}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      if (extra) assert.ok(r.stdout.includes(extra), `the failing step's output is shown: ${r.stdout}`);
    }
    assert.deepEqual(hosts.json<Array<{ ref: string }>>(['image', 'ls']).map((i) => i.ref), tagsBefore, 'nothing tagged');
  });
});
