import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateSpec } from '../../../../manager/api/deploy';
import { InvalidArgumentError } from '../../../../shared/errors';
import type { ServiceSpec } from '../../../../shared/types';
import { serviceSpec } from '../../fixtures';

const STACK = 'shop';
const spec = (patch: Record<string, unknown> = {}): ServiceSpec => ({ ...serviceSpec({ name: 'shop_web', stack: STACK }), ...patch }) as unknown as ServiceSpec;

describe('validateSpec: rebalance', () => {
  it('accepts auto, manual, or none', () => {
    assert.doesNotThrow(() => validateSpec(spec({ rebalance: 'auto' }), STACK));
    assert.doesNotThrow(() => validateSpec(spec({ rebalance: 'manual' }), STACK));
    assert.doesNotThrow(() => validateSpec(spec(), STACK));
    assert.doesNotThrow(() => validateSpec(spec({ rebalance: undefined }), STACK));
  });

  for (const value of ['bogus', 'AUTO', '', true, 1, null, ['auto'], { mode: 'auto' }]) {
    it(`rejects rebalance ${JSON.stringify(value)}`, () => {
      assert.throws(
        () => validateSpec(spec({ rebalance: value }), STACK),
        (e: unknown) => {
          assert.ok(e instanceof InvalidArgumentError, `expected InvalidArgumentError, got ${String(e)}`);
          assert.match(e.message, /^service shop_web: rebalance must be auto or manual$/);
          return true;
        },
      );
    });
  }
});
