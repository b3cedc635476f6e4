/** Parsing `getfattr --dump` output (agent/image/build/upper-xattrs.ts): escapes, empty values, the root. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGetfattrDump } from '../../../agent/image/build/upper-xattrs';

describe('parseGetfattrDump', () => {
  it('maps relative paths to raw values, unescaping names', () => {
    const out = Buffer.concat([
      Buffer.from('# file: /up\ntrusted.overlay.opaque=0seQ==\n\n'),
      Buffer.from('# file: /up/bin/new\\012line\nsecurity.capability=0sAQAAAoAAAAAAAAAAAAAAAAAAAAA=\n\n'),
      Buffer.from('# file: /up/back\\134slash\ntrusted.overlay.metacopy=0s\n\n'),
      Buffer.from('# file: /up/h'),
      Buffer.from([0xc3, 0xa9]),
      Buffer.from('\ntrusted.overlay.redirect=0sL2Q=\n\n'),
    ]);
    const map = parseGetfattrDump(out, '/up');
    assert.deepEqual([...map.keys()], ['', 'bin/new\nline', 'back\\slash', 'hé']);
    assert.equal(map.get('')?.get('trusted.overlay.opaque')?.toString(), 'y');
    assert.deepEqual(map.get('bin/new\nline')?.get('security.capability'), Buffer.from('AQAAAoAAAAAAAAAAAAAAAAAAAAA=', 'base64'));
    assert.equal(map.get('back\\slash')?.get('trusted.overlay.metacopy')?.length, 0);
    assert.equal(map.get('hé')?.get('trusted.overlay.redirect')?.toString(), '/d');
  });

  it('does not take a sibling directory with the same prefix for the root', () => {
    assert.throws(() => parseGetfattrDump(Buffer.from('# file: /upper2/x\nsecurity.capability=0s\n'), '/upper'), /not under \/upper/);
  });
});
