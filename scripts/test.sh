#!/usr/bin/env bash
# `npm test`: installs what is missing, builds, then runs the unit tests and,
# as root, the integration tests (real etcd, real containers). As non-root the
# integration tests fail with the reason rather than pass silently.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
node --test dist/test/unit/
node --test --test-concurrency=1 --test-timeout=600000 dist/test/integration/
