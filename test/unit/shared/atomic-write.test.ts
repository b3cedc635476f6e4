import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { writeFilesAtomicSync } from '../../../shared/atomic-write';
import { writeFilesAtomic } from '../../../shared/pki/node-files';

describe('writeFilesAtomicSync', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atomic-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes every file with its mode, making missing directories', () => {
    const a = path.join(dir, 'a.pem');
    const b = path.join(dir, 'sub', 'b.key');
    writeFilesAtomicSync([{ file: a, data: 'A', mode: 0o644 }, { file: b, data: 'B', mode: 0o600 }]);
    assert.equal(fs.readFileSync(a, 'utf8'), 'A');
    assert.equal(fs.readFileSync(b, 'utf8'), 'B');
    assert.equal(fs.statSync(b).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['a.pem', 'sub']);
  });

  it('changes none of them when one cannot be staged, and leaves no temp file', () => {
    const a = path.join(dir, 'a.pem');
    fs.writeFileSync(a, 'old');
    // A directory where the second file's directory should be: staging it fails.
    fs.writeFileSync(path.join(dir, 'blocked'), '');
    assert.throws(() => writeFilesAtomicSync([{ file: a, data: 'new', mode: 0o644 }, { file: path.join(dir, 'blocked', 'b.key'), data: 'B', mode: 0o600 }]));
    assert.equal(fs.readFileSync(a, 'utf8'), 'old');
    assert.deepEqual(fs.readdirSync(dir).sort(), ['a.pem', 'blocked']);
  });

  it('gives a certificate set its key before its certificate (node-files)', () => {
    const cert = path.join(dir, 'node.pem');
    const key = path.join(dir, 'node.key');
    const seen: string[] = [];
    // The module itself, not this file's import of it: what shared/atomic-write.ts calls.
    const realFs = require('node:fs') as typeof fs;
    const rename = realFs.renameSync;
    realFs.renameSync = (from, to) => {
      seen.push(path.basename(String(to)));
      rename(from, to);
    };
    try {
      writeFilesAtomic([{ file: cert, data: 'C' }, { file: key, data: 'K', secret: true }]);
    } finally {
      realFs.renameSync = rename;
    }
    assert.deepEqual(seen, ['node.key', 'node.pem']);
    assert.equal(fs.statSync(key).mode & 0o777, 0o600);
  });
});
