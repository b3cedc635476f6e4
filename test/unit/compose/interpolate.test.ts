import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InterpolationError, interpolate } from '../../../shared/compose/interpolate';

const vars: Record<string, string> = { NAME: 'web', EMPTY: '', TAG: '1.2', B: 'bee', lower: 'low' };
const lookup = (n: string): string | undefined => (Object.hasOwn(vars, n) ? vars[n] : undefined);

describe('interpolate (docker/cli rules)', () => {
  // [template, value, unset variables]
  const cases: [string, string, string[]][] = [
    ['plain text', 'plain text', []],
    ['$NAME', 'web', []],
    ['${NAME}', 'web', []],
    ['$lower and ${lower}', 'low and low', []],
    ['img:${TAG}-x', 'img:1.2-x', []],
    ['$NAME.$TAG', 'web.1.2', []],
    ['$NAME/bin:$TAG', 'web/bin:1.2', []],
    ['$NAME_x', '', ['NAME_x']],
    ['${MISSING}', '', ['MISSING']],
    ['a $MISSING b $MISSING', 'a  b ', ['MISSING']],
    ['${MISSING:-dflt}', 'dflt', []],
    ['${MISSING-dflt}', 'dflt', []],
    ['${EMPTY:-dflt}', 'dflt', []],
    ['${EMPTY-dflt}', '', []],
    ['${NAME:-dflt}', 'web', []],
    ['${MISSING:-}', '', []],
    ['${MISSING-}', '', []],
    ['${MISSING:-a b:c}', 'a b:c', []],
    ['${MISSING:-/non:-alphanumeric}', '/non:-alphanumeric', []],
    ['${NAME:?must be set}', 'web', []],
    ['${EMPTY?must be set}', '', []],
    ['$$', '$', []],
    ['$$NAME', '$NAME', []],
    ['$${NAME}', '${NAME}', []],
    ['cost: $$5', 'cost: $5', []],
    // The default is literal text up to the first "}": never interpolated again.
    ['${HASH:-$2y$05$x}', '$2y$05$x', []],
    ['${MISSING:-$$}', '$$', []],
    ['${MISSING:-${B}}', '${B}', []],
    ['${NAME:-${UNUSED}}', 'web}', []],
    ['${MISSING:-${ALSO_MISSING:-x}y}', '${ALSO_MISSING:-xy}', []],
    ['${MISSING-a}b}', 'ab}', []],
    // docker reads an operator after a bare name too, up to "}" or the end.
    ['$MISSING-alpine', 'alpine', []],
    ['node:$TAG-alpine', 'node:1.2', []],
    ['$EMPTY:-x y', 'x y', []],
    ['$MISSING-a}b', 'a}b', []],
    ['$NAME:', 'web:', []],
    ['$NAME+x', 'web+x', []],
    // Beyond docker/cli: the compose specification's alternative value.
    ['${NAME:+alt}', 'alt', []],
    ['${EMPTY:+alt}', '', []],
    ['${EMPTY+alt}', 'alt', []],
    ['${MISSING+alt}', '', []],
  ];
  for (const [template, want, unset] of cases) {
    it(`${JSON.stringify(template)} → ${JSON.stringify(want)}`, () => {
      const got = interpolate(template, lookup);
      assert.equal(got.value, want);
      assert.deepEqual(got.unset, unset);
    });
  }

  const errors: [string, RegExp][] = [
    ['${MISSING:?please set it}', /^required variable MISSING is missing a value: please set it$/],
    ['${MISSING?please set it}', /^required variable MISSING is missing a value: please set it$/],
    ['${EMPTY:?no empty}', /^required variable EMPTY is missing a value: no empty$/],
    ['${MISSING:?}', /^required variable MISSING is missing a value$/],
    ['${MISSING?}', /^required variable MISSING is missing a value$/],
    ['${MISSING:?need ${NAME}}', /missing a value: need \$\{NAME$/],
    ['${MISSING?must-be-set}', /^required variable MISSING is missing a value: must-be-set$/],
    ['$MISSING?', /^required variable MISSING is missing a value$/],
    ['$', /invalid interpolation format/],
    ['a$', /invalid interpolation format/],
    ['echo $1', /invalid interpolation format/],
    ['$ x', /invalid interpolation format/],
    ['$}', /invalid interpolation format/],
    ['${', /invalid interpolation format/],
    ['${NAME', /invalid interpolation format/],
    ['${}', /invalid interpolation format/],
    ['${ }', /invalid interpolation format/],
    ['${ NAME}', /invalid interpolation format/],
    ['${NAME }', /invalid interpolation format/],
    ['${NAME!}', /invalid interpolation format/],
    ['${1A}', /invalid interpolation format/],
    ['${NAME:x}', /invalid interpolation format/],
    ['${NAME:-unclosed', /invalid interpolation format/],
  ];
  for (const [template, pattern] of errors) {
    it(`${JSON.stringify(template)} fails`, () => {
      assert.throws(() => interpolate(template, lookup), (e: unknown) => e instanceof InterpolationError && pattern.test(e.message));
    });
  }

  it('a default that is not used is not evaluated, and is literal anyway', () => {
    assert.deepEqual(interpolate('${NAME:-${NOPE:?boom}}', lookup), { value: 'web}', unset: [], unbracedOperators: [] });
  });

  it('reports operators written without braces', () => {
    assert.deepEqual(interpolate('node:$TAG-alpine and ${TAG-x} and $NAME', lookup).unbracedOperators, ['$TAG-alpine and ${TAG-x']);
    assert.deepEqual(interpolate('$A:-x}', lookup).unbracedOperators, ['$A:-x']);
  });
});
