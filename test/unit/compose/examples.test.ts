import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadStackFile } from '../../../shared/compose';

const dir = path.resolve(__dirname, '..', '..', '..', '..', 'compose-examples');

describe('compose-examples deploy as they are', () => {
  const stacks = fs.readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  it('has examples', () => assert.ok(stacks.length >= 2));
  for (const name of stacks) {
    it(`${name}/stack.yml loads without warnings`, () => {
      const d = loadStackFile(path.join(dir, name, 'stack.yml'), { name: null, env: {} });
      assert.equal(d.name, name);
      assert.ok(d.services.length > 0);
      assert.deepEqual(d.warnings, []);
    });
  }
});
