#!/usr/bin/env bash
# Installs npm dependencies when missing or stale, and builds the native addon and the TypeScript.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund
fi
npx node-gyp rebuild --directory native >/tmp/tsswarm-native-build.log 2>&1 || { cat /tmp/tsswarm-native-build.log >&2; exit 1; }
npx tsc -p tsconfig.json
