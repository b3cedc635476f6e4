import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InterpolationError, interpolate } from '../../../shared/compose/interpolate';

const vars: Record<string, string> = { NAME: 'web', EMPTY: '', TAG: '1.2', B: 'bee' };
const lookup = (n: string): string | undefined => vars[n];

describe('interpolate', () => {
  const cases: [string, string, string[]][] = [
    ['plain text', 'plain text', []],
    ['$NAME', 'web', []],
    ['${NAME}', 'web', []],
    ['img:${TAG}-x', 'img:1.2-x', []],
    ['$NAME.$TAG', 'web.1.2', []],
    ['$NAME_x', '', ['NAME_x']],
    ['${MISSING}', '', ['MISSING']],
    ['a $MISSING b $MISSING', 'a  b ', ['MISSING']],
    ['${MISSING:-dflt}', 'dflt', []],
    ['${MISSING-dflt}', 'dflt', []],
    ['${EMPTY:-dflt}', 'dflt', []],
    ['${EMPTY-dflt}', '', []],
    ['${NAME:-dflt}', 'web', []],
    ['${MISSING:-}', '', []],
    ['${MISSING:-a b:c}', 'a b:c', []],
    ['${MISSING:-${B}}', 'bee', []],
    ['${MISSING:-${ALSO_MISSING:-x}y}', 'xy', []],
    ['${NAME:-${UNUSED}}', 'web', []],
    ['${NAME:+alt}', 'alt', []],
    ['${EMPTY:+alt}', '', []],
    ['${EMPTY+alt}', 'alt', []],
    ['${MISSING+alt}', '', []],
    ['${NAME:?must be set}', 'web', []],
    ['${EMPTY?must be set}', '', []],
    ['$$', '$', []],
    ['$$NAME', '$NAME', []],
    ['$${NAME}', '${NAME}', []],
    ['cost: $$5', 'cost: $5', []],
    ['${MISSING:-$$}', '$', []],
  ];
  for (const [template, want, unset] of cases) {
    it(`${JSON.stringify(template)} → ${JSON.stringify(want)}`, () => {
      assert.deepEqual(interpolate(template, lookup), { value: want, unset });
    });
  }

  const errors: [string, RegExp][] = [
    ['${MISSING:?please set it}', /^required variable MISSING is missing a value: please set it$/],
    ['${MISSING?please set it}', /^required variable MISSING is missing a value: please set it$/],
    ['${EMPTY:?no empty}', /^required variable EMPTY is missing a value: no empty$/],
    ['${MISSING:?}', /^required variable MISSING is missing a value$/],
    ['${MISSING:?need ${NAME}}', /missing a value: need web$/],
    ['$', /invalid interpolation format/],
    ['echo $1', /invalid interpolation format/],
    ['${', /invalid interpolation format/],
    ['${NAME', /invalid interpolation format/],
    ['${}', /invalid interpolation format/],
    ['${1A}', /invalid interpolation format/],
    ['${NAME:x}', /invalid interpolation format/],
    ['${NAME:-unclosed', /invalid interpolation format/],
  ];
  for (const [template, pattern] of errors) {
    it(`${JSON.stringify(template)} fails`, () => {
      assert.throws(() => interpolate(template, lookup), (e: unknown) => e instanceof InterpolationError && pattern.test(e.message));
    });
  }

  it('does not evaluate a default that is not used', () => {
    assert.deepEqual(interpolate('${NAME:-${NOPE:?boom}}', lookup), { value: 'web', unset: [] });
  });
});
