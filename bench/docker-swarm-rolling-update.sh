#!/usr/bin/env bash
# Peer measurement for the rolling update benchmark (bench/rolling-update.ts): Docker Swarm from
# Debian's docker.io (20.10), one dockerd per test host (bench/dockerd-lib.sh), h1 manager, h2 and
# h3 workers. The same service: 30 replicas of a busybox shell that exits at once on SIGTERM (stop
# grace 1s), --update-parallelism 5 --update-delay 0s --update-monitor 1s. Per run, from the
# command's start until `docker service inspect` says UpdateStatus.State is done and 30 tasks run:
#   startFirstMs  docker service update -d --update-order start-first --env-add V=2 web → completed
#   stopFirstMs   the same with --update-order stop-first (V=3) → completed
#   rollbackMs    docker service rollback -d web → rollback_completed
# Run as root: bench/docker-swarm-rolling-update.sh [--runs 3] [--keep-log DIR]
# Prints one JSON line on stdout, progress on stderr; everything it creates is removed on exit
# (bench/dockerd-lib.sh's hosts session).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
log() { printf 'docker-swarm-rolling-update: %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
# shellcheck source=bench/dockerd-lib.sh
source "$here/bench/dockerd-lib.sh"

runs=3 keep_log=""
more_option() { return 1; }
peer_options "[--runs R] [--keep-log DIR]" "$@"

hosts_preflight
teardown() { hosts_down web; save_dockerd_logs "$keep_log" ""; }
hosts_session_start dsru teardown
hosts_net_up
dockerds_up
busybox_everywhere "$tmp/busybox.tar"
swarm_up

replicas=30
# until_state T0 STATE → sets took_ms: from T0 until the update state is STATE and 30 tasks run.
until_state() {
  local t0="$1" want="$2" state running
  while :; do
    state=$(dk 1 service inspect --format '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' web 2>/dev/null || true)
    if [[ "$state" == "$want" ]]; then
      running=$(dk 1 service ps web --filter desired-state=running --format '{{.CurrentState}}' | grep -c '^Running' || true)
      ((running == replicas)) && { took_ms=$(ms_since "$t0"); return 0; }
    fi
    [[ "$state" == paused || "$state" == rollback_paused ]] && { log "update $state: $(dk 1 service inspect --format '{{.UpdateStatus.Message}}' web)"; return 1; }
    (( $(ms_since "$t0") > 600000 )) && { log "no $want after 10 minutes (state: $state)"; return 1; }
    sleep 0.05
  done
}

start_ms=() stop_ms=() back_ms=()
for ((r = 1; r <= runs; r++)); do
  dk 1 service create -d --name web --replicas "$replicas" --no-resolve-image --stop-grace-period 1s --env V=1 \
    --update-parallelism 5 --update-delay 0s --update-monitor 1s \
    busybox:latest sh -c "trap 'exit 0' TERM; while true; do sleep 0.2; done" >/dev/null || die "docker service create web failed"
  for ((i = 0; i < 1200; i++)); do
    [[ $(dk 1 service ps web --filter desired-state=running --format '{{.CurrentState}}' | grep -c '^Running' || true) == "$replicas" ]] && break
    sleep 0.1
  done
  t0=$(now_ns)
  dk 1 service update -d --update-order start-first --env-add V=2 web >/dev/null || die "update start-first failed"
  until_state "$t0" completed || die "the start-first update did not complete"
  start_ms+=("$took_ms")
  t0=$(now_ns)
  dk 1 service update -d --update-order stop-first --env-add V=3 web >/dev/null || die "update stop-first failed"
  until_state "$t0" completed || die "the stop-first update did not complete"
  stop_ms+=("$took_ms")
  t0=$(now_ns)
  dk 1 service rollback -d web >/dev/null || die "rollback failed"
  until_state "$t0" rollback_completed || die "the rollback did not complete"
  back_ms+=("$took_ms")
  log "run $r/$runs: start-first ${start_ms[-1]} ms, stop-first ${stop_ms[-1]} ms, rollback ${back_ms[-1]} ms"
  dk 1 service rm web >/dev/null
  for ((i = 0; i < 1200; i++)); do
    left=""; for h in "${hosts[@]}"; do left+=$(dk "$h" ps -aq --filter label=com.docker.swarm.service.name=web); done
    [[ -z "$left" ]] && break; sleep 0.1
  done
done

printf '{"peer":"docker-swarm %s (3 dockerd in netns)","startFirstMs":%d,"stopFirstMs":%d,"rollbackMs":%d,"runs":%d,"date":"%s","machine":"%s, %s cores","startFirstMsAll":%s,"stopFirstMsAll":%s,"rollbackMsAll":%s}\n' \
  "$server_version" "$(median "${start_ms[@]}")" "$(median "${stop_ms[@]}")" "$(median "${back_ms[@]}")" "$runs" \
  "$(date -u +%F)" "$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | sed "s/^ *//; s/\"/\\\\\"/g")" "$(nproc)" \
  "$(list "${start_ms[@]}")" "$(list "${stop_ms[@]}")" "$(list "${back_ms[@]}")"
