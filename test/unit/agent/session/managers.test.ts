import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { orderManagers } from '../../../../agent/session/session';

describe('orderManagers', () => {
  it('keeps the preferred managers first, in their order, then the others sorted, without duplicates', () => {
    assert.deepEqual(orderManagers(['10.0.0.3:4242', '10.0.0.1:4242'], ['10.0.0.2:4242', '10.0.0.1:4242', '10.0.0.4:4242', '10.0.0.2:4242']), [
      '10.0.0.3:4242',
      '10.0.0.1:4242',
      '10.0.0.2:4242',
      '10.0.0.4:4242',
    ]);
  });
  it('keeps a preferred manager the live list no longer names (it may come back)', () => {
    assert.deepEqual(orderManagers(['a:1'], ['b:1']), ['a:1', 'b:1']);
  });
});
