import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeImageRef } from '../../../shared/compose/image-ref';

const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('normalizeImageRef', () => {
  const good: [string, string][] = [
    ['busybox', 'busybox:latest'],
    ['busybox:latest', 'busybox:latest'],
    ['busybox:1.36', 'busybox:1.36'],
    ['library/busybox', 'busybox:latest'],
    ['docker.io/library/redis:alpine', 'redis:alpine'],
    ['localhost:5000/app', 'localhost:5000/app:latest'],
    ['localhost:5000/app:v1', 'localhost:5000/app:v1'],
    ['registry.example.com/team/app-name_x:2.0-rc.1', 'registry.example.com/team/app-name_x:2.0-rc.1'],
    [`busybox@${DIGEST}`, `busybox@${DIGEST}`],
    [`busybox:1.36@${DIGEST}`, `busybox:1.36@${DIGEST}`],
    ['[::1]:5000/app', '[::1]:5000/app:latest'],
  ];
  for (const [input, want] of good) {
    it(`${input} → ${want}`, () => assert.deepEqual(normalizeImageRef(input), { ok: true, ref: want }));
  }

  const bad: [string, RegExp][] = [
    ['', /empty/],
    [' busybox', /valid name component/],
    ['BusyBox', /valid name component/],
    ['busybox:', /valid tag/],
    ['busybox:-x', /valid tag/],
    ['busybox@sha256:123', /digest/],
    ['my app', /valid name component/],
    ['app/', /./],
    ['-app', /valid name component/],
    [':tag', /./],
    ['bad_host-.com/app', /./],
  ];
  for (const [input, pattern] of bad) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      const r = normalizeImageRef(input);
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.reason, pattern);
    });
  }
});
