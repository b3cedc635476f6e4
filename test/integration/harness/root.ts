import assert from 'node:assert/strict';

/** Integration tests need root; without it they fail with the reason instead of passing silently. */
export function requireRoot(): void {
  assert.equal(
    process.getuid?.(),
    0,
    'integration tests need root (real etcd, namespaces, cgroups, overlayfs): run npm test as root',
  );
}
