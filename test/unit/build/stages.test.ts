/** planStages (agent/image/build/stages.ts): global ARGs in FROM, stage references, order, cycles, target. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../../../shared/errors';
import { formatWarning } from '../../../agent/image/build/diagnostics';
import { parseDockerfile } from '../../../agent/image/build/dockerfile-parse';
import { argValues, expandInstruction } from '../../../agent/image/build/expand-instruction';
import { type BuildPlan, type PlanOptions, planStages, resolveFrom } from '../../../agent/image/build/stages';

function plan(text: string, options: Partial<PlanOptions> = {}): BuildPlan {
  return planStages(parseDockerfile(text), { buildArgs: {}, ...options });
}

const MULTI = [
  'FROM golang:1.22 AS build', // 0, line 1
  'RUN go build -o /app .',
  'FROM alpine AS test', // 2 → index 1
  'COPY --from=build /app /app',
  'FROM build AS debug', // index 2
  'FROM alpine', // index 3, line 6
  'COPY --from=BUILD /app /app',
  'COPY --from=nginx:1.25 /etc/nginx /etc/nginx',
].join('\n');

describe('planStages: bases and references', () => {
  it('builds the last stage by default, with only the stages it needs, in order', () => {
    const p = plan(MULTI);
    assert.equal(p.target, 3);
    assert.deepEqual(
      p.stages.map((s) => s.index),
      [0, 3],
    );
    assert.deepEqual(p.stages[1]?.dependsOn, [0]);
    assert.deepEqual(p.stages[1]?.base, { kind: 'image', ref: 'alpine' });
  });

  it('an unknown --from is an image; names are case-insensitive; indexes are stages', () => {
    const p = plan(MULTI);
    assert.deepEqual(resolveFrom(p, 'nginx:1.25'), { kind: 'image', ref: 'nginx:1.25' });
    assert.deepEqual(resolveFrom(p, 'Build'), { kind: 'stage', index: 0 });
    assert.deepEqual(resolveFrom(p, '1'), { kind: 'stage', index: 1 });
  });

  it('FROM <stage> continues that stage', () => {
    const p = plan(MULTI, { target: 'debug' });
    assert.deepEqual(
      p.stages.map((s) => [s.index, s.base]),
      [
        [0, { kind: 'image', ref: 'golang:1.22' }],
        [2, { kind: 'stage', index: 0 }],
      ],
    );
  });

  it('FROM scratch', () => {
    assert.deepEqual(plan('FROM scratch\nCOPY a /\n').stages[0]?.base, { kind: 'scratch' });
  });

  it('--from by index', () => {
    const p = plan('FROM a\nRUN x\nFROM b\nCOPY --from=0 /x /x\n');
    assert.deepEqual(p.stages.map((s) => s.index), [0, 1]);
    assert.throws(() => plan('FROM a\nCOPY --from=3 /x /x\n'), { message: 'Dockerfile:2: COPY --from=3: invalid stage index 3' });
  });

  it('orders a stage after a later stage it copies from, keeping file order otherwise', () => {
    const p = plan('FROM alpine AS app\nCOPY --from=assets /dist /srv\nFROM node AS assets\nRUN build\nFROM alpine AS final\nCOPY --from=app / /\n');
    assert.deepEqual(p.stages.map((s) => s.name), ['assets', 'app', 'final']);
  });

  it('the base stage’s ONBUILD triggers run in the stage built FROM it, and count as its references', () => {
    const p = plan('FROM alpine AS tools\nRUN make\nFROM alpine AS base\nONBUILD COPY --from=tools /bin/t /bin/t\nFROM base\n');
    const last = p.stages[p.stages.length - 1];
    assert.deepEqual(last?.triggers.map((t) => t.original), ['COPY --from=tools /bin/t /bin/t']);
    assert.deepEqual(p.stages.map((s) => s.index), [0, 1, 2]);
    assert.deepEqual(last?.dependsOn, [1, 0]);
  });
});

describe('planStages: cycles', () => {
  it('two stages copying from each other', () => {
    const text = ['FROM alpine AS app', 'COPY --from=assets /a /a', 'FROM alpine AS assets', 'RUN true', 'RUN true', 'RUN true', 'RUN true', 'RUN true', 'COPY --from=app /b /b'].join('\n');
    assert.throws(() => plan(text), { message: 'Dockerfile:9: COPY --from=app refers to a stage that depends on this one' });
  });

  it('a stage copying from itself', () => {
    assert.throws(() => plan('FROM alpine AS app\nCOPY --from=app /a /b\n'), { message: 'Dockerfile:2: COPY --from=app refers to its own stage' });
    assert.throws(() => plan('FROM alpine\nCOPY --from=0 /a /b\n'), { message: 'Dockerfile:2: COPY --from=0 refers to its own stage' });
  });

  it('a later stage built FROM an earlier one that copies from it', () => {
    assert.throws(() => plan('FROM alpine AS a\nCOPY --from=b /x /x\nFROM a AS b\n'), { message: 'Dockerfile:3: FROM a refers to a stage that depends on this one' });
  });

  it('FROM a later stage name is an image, not a reference', () => {
    const p = plan('FROM later AS first\nFROM alpine AS later\n', { target: 'first' });
    assert.deepEqual(p.stages[0]?.base, { kind: 'image', ref: 'later' });
  });
});

describe('planStages: target', () => {
  it('selects by name, in any case', () => {
    const p = plan(MULTI, { target: 'TEST' });
    assert.equal(p.target, 1);
    assert.deepEqual(p.stages.map((s) => s.index), [0, 1]);
  });

  it('an unknown target is refused', () => {
    assert.throws(
      () => plan(MULTI, { target: 'X' }),
      (e: unknown) => e instanceof InvalidArgumentError && e.message === 'target stage "X" could not be found (stages: build, test, debug)',
    );
  });
});

describe('planStages: ARGs', () => {
  const text = ['ARG VERSION=3.18', 'ARG BASE=alpine:${VERSION}', 'FROM ${BASE} AS app', 'WORKDIR /v$VERSION', 'ARG VERSION', 'WORKDIR /v$VERSION'].join('\n');

  it('resolves global ARGs (defaults, then build args) into FROM lines', () => {
    assert.deepEqual(plan(text).stages[0]?.base, { kind: 'image', ref: 'alpine:3.18' });
    assert.deepEqual(plan(text, { buildArgs: { VERSION: '3.20' } }).stages[0]?.base, { kind: 'image', ref: 'alpine:3.20' });
    assert.deepEqual(plan(text, { buildArgs: { BASE: 'debian' } }).stages[0]?.base, { kind: 'image', ref: 'debian' });
  });

  it('a global ARG is not visible in the stage until redeclared there', () => {
    const p = plan(text, { buildArgs: { VERSION: '3.20' } });
    const stage = p.stages[0];
    assert.ok(stage);
    const at = { file: p.file, escape: p.escape };
    let vars: Record<string, string> = {};
    const workdirs: string[] = [];
    for (const ins of stage.instructions) {
      if (ins.keyword === 'ARG') {
        for (const a of argValues(ins, { vars, buildArgs: p.buildArgs, globalArgs: p.globalArgs }, at)) if (a.value !== null) vars = { ...vars, [a.name]: a.value };
      } else if (ins.keyword === 'WORKDIR') workdirs.push(expandInstruction(ins, vars, at).path);
    }
    assert.deepEqual(workdirs, ['/v', '/v3.20']);
  });

  it('automatic platform ARGs work in FROM --platform and in the FROM image', () => {
    const p = plan('FROM --platform=$BUILDPLATFORM golang:1.22-$TARGETOS\n', { automaticArgs: { BUILDPLATFORM: 'linux/amd64', TARGETOS: 'linux' } });
    assert.equal(p.stages[0]?.platform, 'linux/amd64');
    assert.deepEqual(p.stages[0]?.base, { kind: 'image', ref: 'golang:1.22-linux' });
  });

  it('refuses a FROM that expands to nothing', () => {
    assert.throws(() => plan('ARG BASE\nFROM $BASE\n'), { message: 'Dockerfile:2: base name ($BASE) should not be blank' });
    assert.throws(() => plan('FROM --platform=$NOPE alpine\n'), { message: 'Dockerfile:1: empty platform value from expression $NOPE' });
  });

  it('warns about build args no needed stage declares (proxies excepted)', () => {
    const p = plan('ARG USED\nFROM alpine AS other\nARG ONLY_OTHER\nFROM alpine\nARG INSTAGE\n', { buildArgs: { USED: '1', INSTAGE: '2', ONLY_OTHER: '3', ZZZ: '4', HTTP_PROXY: 'http://p' } });
    assert.deepEqual(p.warnings.map(formatWarning), ['One or more build-args [ONLY_OTHER ZZZ] were not consumed']);
  });

  it('carries the parse warnings along', () => {
    assert.equal(plan('# syntax=docker/dockerfile:1\nFROM a\n').warnings.length, 1);
  });
});
