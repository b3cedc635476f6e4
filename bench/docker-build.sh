#!/usr/bin/env bash
# Peer measurement for the build benchmark (bench/build.ts): Docker 20.10 from Debian's docker.io,
# one dockerd in a test host's netns (bench/dockerd-lib.sh), busybox:latest loaded, BuildKit
# (DOCKER_BUILDKIT=1, dockerd's built-in builder), the same context (bench/build-context.ts):
#   coldMs    `docker build --no-cache -t ...` wall time;
#   cachedMs  the same build again, every step from the cache.
# Run as root, after npm run build: bench/docker-build.sh [--runs 3] [--keep-log DIR]
# Prints one JSON line on stdout, progress on stderr; everything it creates is removed on exit.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
log() { printf 'docker-build: %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
# shellcheck source=bench/dockerd-lib.sh
source "$here/bench/dockerd-lib.sh"

runs=3 keep_log=""
more_option() { return 1; }
peer_options "[--runs R] [--keep-log DIR]" "$@"
[[ -f "$here/dist/bench/build-context.js" ]] || die "dist/bench/build-context.js missing; run npm run build"

hosts_preflight
teardown() { hosts_down; save_dockerd_logs "$keep_log" ""; }
hosts_session_start dbld teardown 1
hosts_net_up
dockerds_up
busybox_everywhere "$tmp/busybox-save.tar"
node "$here/dist/bench/build-context.js" "$tmp/ctx"

build() { DOCKER_BUILDKIT=1 dk 1 build -q --network none "$@" "$tmp/ctx" >/dev/null || die "docker build $* failed"; }
build -t bench/app:warmup
cold_ms=() cached_ms=()
for ((r = 1; r <= runs; r++)); do
  t0=$(now_ns); build --no-cache -t "bench/app:$r"; cold_ms+=("$(ms_since "$t0")")
  t0=$(now_ns); build -t "bench/app:$r"; cached_ms+=("$(ms_since "$t0")")
  log "run $r/$runs: cold ${cold_ms[-1]} ms, cached ${cached_ms[-1]} ms"
done

printf '{"peer":"docker %s build (BuildKit, dockerd in netns, %s)","coldMs":%d,"cachedMs":%d,"runs":%d,"date":"%s","machine":"%s, %s cores","coldMsAll":%s,"cachedMsAll":%s}\n' \
  "$server_version" "$driver" "$(median "${cold_ms[@]}")" "$(median "${cached_ms[@]}")" "$runs" "$(date -u +%F)" \
  "$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | sed "s/^ *//; s/\"/\\\\\"/g")" "$(nproc)" "$(list "${cold_ms[@]}")" "$(list "${cached_ms[@]}")"
