#!/usr/bin/env bash
# `npm run quickstart`: installs what is missing, builds, starts a one-host
# cluster (unless one runs already), imports the busybox example image and
# deploys compose-examples/hello. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) -ne 0 ]]; then
  echo "error: quickstart must run as root (it starts containers)" >&2
  exit 1
fi
bash scripts/setup.sh
bash scripts/build.sh
tsswarm() { node dist/cli/main.js "$@"; }
if tsswarm node ls >/dev/null 2>&1; then
  echo "cluster already running"
else
  tsswarm init
fi
if ! tsswarm image ls --format json | grep -q '"busybox:latest"'; then
  img=$(mktemp -d)/busybox.tar
  bash scripts/make-busybox-image.sh "$img"
  tsswarm image import "$img" busybox:latest
  rm -rf "$(dirname "$img")"
fi
tsswarm deploy -c compose-examples/hello/stack.yml hello
tsswarm service ls
