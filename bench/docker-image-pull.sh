#!/usr/bin/env bash
# Peer measurement for the image pull benchmark (bench/image-pull.ts): Docker 20.10 from Debian's
# docker.io, one dockerd per test host (bench/dockerd-lib.sh), h1 manager, h2 and h3 workers, and a
# docker-registry (distribution 2.8) on h1's address, named insecure to the dockerds. Per run, two
# fresh ~100 MB images of 5 layers (bench/random-image.ts, the same generator as ours) pushed by skopeo:
#   pullMs     `docker pull` of the first on h1 (fetch, verify, unpack into overlay2), wall time;
#   deploy3Ms  `docker service create --replicas 3 --replicas-max-per-node 1` of the second until
#              all 3 run: every node pulls it from the registry itself.
# Run as root, after npm run build: bench/docker-image-pull.sh [--runs 3] [--keep-log DIR]
# Prints one JSON line on stdout, progress on stderr; everything it creates is removed on exit.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
log() { printf 'docker-image-pull: %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
# shellcheck source=bench/dockerd-lib.sh
source "$here/bench/dockerd-lib.sh"

runs=3 keep_log=""
more_option() { return 1; }
peer_options "[--runs R] [--keep-log DIR]" "$@"
[[ -f "$here/dist/bench/random-image.js" ]] || die "dist/bench/random-image.js missing; run npm run build"
command -v skopeo >/dev/null && [[ -x /usr/bin/docker-registry ]] || die "skopeo or docker-registry missing; run scripts/setup.sh"

hosts_preflight
registry_pid=""
teardown() { [[ -n "$registry_pid" ]] && kill -KILL "$registry_pid" 2>/dev/null; hosts_down; save_dockerd_logs "$keep_log" ""; }
hosts_session_start dimp teardown
reg="$(addr_of 1):5000"
dockerd_insecure=$reg dockerd_pull=1
hosts_net_up
dockerds_up
swarm_up

cat >"$tmp/registry.yml" <<YML
version: 0.1
log: { level: error }
storage:
  filesystem: { rootdirectory: $tmp/registry }
http:
  addr: $reg
YML
nsenter --net="/run/netns/$(ns_of 1)" -- docker-registry serve "$tmp/registry.yml" >/dev/null 2>&1 &
registry_pid=$!
for ((i = 0; i < 100; i++)); do
  nsenter --net="/run/netns/$(ns_of 1)" -- timeout 2 busybox wget -qO- "http://$reg/v2/" >/dev/null 2>&1 && break
  sleep 0.2
done

# push NAME → a fresh image pushed as $reg/bench/NAME:1 (its size in bytes into pushed_bytes)
push() {
  local dir="$tmp/img-$1"
  pushed_bytes=$(node "$here/dist/bench/random-image.js" "$dir" v | sed -E 's/.*"bytes":([0-9]+).*/\1/')
  nsenter --net="/run/netns/$(ns_of 1)" -- skopeo copy --quiet --dest-tls-verify=false "oci:$dir:v" "docker://$reg/bench/$1:1" || die "skopeo copy of $1 failed"
  rm -rf "$dir"
}
running() { dk 1 service ps "$1" --filter desired-state=running --format '{{.CurrentState}}' 2>/dev/null | grep -c '^Running' || true; }

pull_ms=() deploy_ms=()
for ((r = 1; r <= runs; r++)); do
  push "big$r"
  t0=$(now_ns)
  dk 1 pull -q "$reg/bench/big$r:1" >/dev/null || die "docker pull failed"
  pull_ms+=("$(ms_since "$t0")")
  push "spread$r"
  t0=$(now_ns)
  dk 1 service create -d --name "spread$r" --replicas 3 --replicas-max-per-node 1 --stop-grace-period 1s "$reg/bench/spread$r:1" sleep 1000 >/dev/null ||
    die "docker service create spread$r failed"
  for ((i = 0; i < 1200; i++)); do
    [[ $(running "spread$r") == 3 ]] && break
    sleep 0.05
  done
  [[ $(running "spread$r") == 3 ]] || die "spread$r: 3 replicas did not run within 60 s: $(dk 1 service ps --no-trunc --format '{{.Node}} {{.CurrentState}} {{.Error}}' "spread$r" | head -6 | tr '\n' ';')"
  deploy_ms+=("$(ms_since "$t0")")
  dk 1 service rm "spread$r" >/dev/null
  log "run $r/$runs: docker pull ${pull_ms[-1]} ms, 3 hosts running ${deploy_ms[-1]} ms ($((pushed_bytes / 1000000)) MB)"
done

printf '{"peer":"docker %s (dockerd in netns, %s)","pullMs":%d,"deploy3Ms":%d,"runs":%d,"date":"%s","machine":"%s, %s cores","pullMsAll":%s,"deploy3MsAll":%s}\n' \
  "$server_version" "$driver" "$(median "${pull_ms[@]}")" "$(median "${deploy_ms[@]}")" "$runs" "$(date -u +%F)" \
  "$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | sed "s/^ *//; s/\"/\\\\\"/g")" "$(nproc)" "$(list "${pull_ms[@]}")" "$(list "${deploy_ms[@]}")"
