import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { newId, shortId } from '../../../shared/ids';

describe('newId', () => {
  it('makes 25 base32 characters', () => {
    for (let i = 0; i < 100; i++) assert.match(newId(), /^[0-9a-v]{25}$/);
  });
  it('does not repeat itself inside an id (all bits are random)', () => {
    // The first 12 characters (the short id) must not predict the rest.
    const ids = Array.from({ length: 200 }, newId);
    assert.ok(ids.some((id) => id.slice(16) !== id.slice(0, 9)));
    assert.ok(ids.every((id) => !id.endsWith(id.slice(0, 9))));
  });
  it('short ids of many ids are distinct', () => {
    const ids = new Set(Array.from({ length: 5000 }, () => shortId(newId())));
    assert.equal(ids.size, 5000);
  });
});
