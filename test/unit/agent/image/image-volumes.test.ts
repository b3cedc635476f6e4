import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { imageVolumes } from '../../../../agent/image/cache';

describe('imageVolumes (an image config\'s Volumes)', () => {
  it('the paths of Docker\'s object, sorted; anything else is none', () => {
    assert.deepEqual(imageVolumes({ '/var/lib/mysql': {}, '/data': {} }), ['/data', '/var/lib/mysql']);
    assert.deepEqual(imageVolumes({ relative: {} }), []);
    assert.deepEqual(imageVolumes(null), []);
    assert.deepEqual(imageVolumes(undefined), []);
    assert.deepEqual(imageVolumes(['/data']), []);
  });
});
