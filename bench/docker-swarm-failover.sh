#!/usr/bin/env bash
# Peer measurement for the failover benchmark (bench/failover.ts): Docker Swarm
# from Debian's docker.io (20.10) with one dockerd per test host, 3 hosts on
# this machine, the setup of bench/docker-swarm-multihost.sh (bench/dockerd-lib.sh).
# Run as root:
#
#   bench/docker-swarm-failover.sh [--runs 3] [--keep-log DIR]
#
# Per run, on a fresh swarm (namespaces, dockerds, swarm init on h1, h2 and h3
# join as workers, busybox:latest loaded on every node):
#   * an overlay network fo_default (what `docker stack deploy` would make for
#     the stack of bench/failover.ts) and `docker service create --name web
#     --network fo_default --replicas 30 --stop-grace-period 1s
#     --no-resolve-image busybox:latest httpd -f -p 8080 -h /var/www`; wait
#     until 30 tasks run, some of them on h3, then 1.5 s (as failover.ts);
#   * t0, power cut of h3: its port on the test switch goes down, then SIGKILL
#     (by PID, until none is left) of everything of h3's: its dockerd,
#     containerd and shims (command line names h3's directory) and its
#     containers (in h3's cgroup parent);
#   * polling the manager h1 (docker CLI, about every 100-200 ms):
#       downMs  t0 → `docker node inspect -f '{{.Status.State}}'` says h3 is down;
#       allMs   t0 → 30 tasks of web with desired state running and current
#               state running, none of them on h3 (and h3 reported down).
# Docker's defaults throughout (dispatcher heartbeat period 5 s, restart delay
# 5 s): the point is their defaults against ours.
#
# Prints one JSON line on stdout, progress on stderr. Everything it creates
# (daemons, containerds, shims, containers, mounts, namespaces, cgroups, links,
# the files dockerd writes to /etc/docker and /run, the sockets of the killed
# shims) is removed after each run and on exit, failure or Ctrl-C included.
# --keep-log DIR keeps the dockerd logs of every run.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
log() { printf 'docker-swarm-failover: %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
# shellcheck source=bench/dockerd-lib.sh
source "$here/bench/dockerd-lib.sh"

runs=3 keep_log="" replicas=30 victim=3 run=0
peer_options "[--runs R] [--keep-log DIR]" "$@"
hosts_preflight

# teardown: the hosts down and their logs kept, after each run and on exit.
teardown() { hosts_down web; save_dockerd_logs "$keep_log" "run$run-"; }
hosts_session_start dswf teardown

# web_tasks → one line per task of web with desired state running: "<node> <current state>"
web_tasks() { dk 1 service ps web --filter desired-state=running --format '{{.Node}} {{.CurrentState}}' 2>/dev/null || true; }
# count_running LINES [NODE] → how many are Running (on NODE if given)
count_running() { awk -v n="${2:-}" '$2 == "Running" && (n == "" || $1 == n) { c++ } END { print c + 0 }' <<<"$1"; }

down_ms=() all_ms=()
for ((run = 1; run <= runs; run++)); do
  # --- a fresh swarm: as bench/docker-swarm-multihost.sh -------------------------
  hosts_net_up
  dockerds_up ${driver:+"$driver"}
  busybox_everywhere "$tmp/busybox.tar"
  swarm_up
  victim_id=$(dk 1 node ls --format '{{.ID}} {{.Hostname}}' | awk -v h="h$victim" '$2 == h { print $1 }')
  [[ -n "$victim_id" ]] || die "no swarm node named h$victim"

  # --- 30 replicas spread over the three hosts ------------------------------------
  dk 1 network create -d overlay fo_default >/dev/null || die "docker network create -d overlay fo_default failed"
  dk 1 service create -d --name web --replicas "$replicas" --network fo_default --stop-grace-period 1s --no-resolve-image \
    busybox:latest httpd -f -p 8080 -h /var/www >/dev/null || die "docker service create web failed"
  t=$(now_ns) last=""
  while :; do
    tasks=$(web_tasks)
    n=$(count_running "$tasks") n3=$(count_running "$tasks" "h$victim")
    ((n == replicas && n3 > 0)) && break
    [[ "$n/$n3" != "$last" ]] && { log "  … $n running, $n3 on h$victim"; last="$n/$n3"; }
    (($(ms_since "$t") > 120000)) && die "web did not reach $replicas running tasks spread over the hosts (last: $n running, $n3 on h$victim)"
    sleep 0.2
  done
  log "run $run/$runs: $replicas running ($(awk '$2 == "Running" { print $1 }' <<<"$tasks" | sort | uniq -c | awk '{ printf "%s%s:%s", s, $2, $1; s = " " }'))"
  # Let the deploy's after-effects pass (as bench/failover.ts).
  sleep 1.5

  # --- the power cut, and the manager's view of it ---------------------------------
  t0=$(now_ns)
  power_cut "$victim"
  log "run $run/$runs: h$victim cut off and killed ($(ms_since "$t0") ms)"
  d=-1 a=-1 last=""
  while :; do
    if ((d < 0)); then
      [[ $(dk 1 node inspect -f '{{.Status.State}}' "$victim_id" 2>/dev/null) == down ]] && { d=$(ms_since "$t0"); log "  h$victim down after $d ms"; }
    fi
    tasks=$(web_tasks)
    n=$(count_running "$tasks") n3=$(grep -c "^h$victim " <<<"$tasks" || true)
    ((d >= 0 && n == replicas && n3 == 0)) && { a=$(ms_since "$t0"); break; }
    [[ "$n/$n3" != "$last" ]] && { log "  … $(ms_since "$t0") ms: $n running, $n3 desired-running on h$victim"; last="$n/$n3"; }
    (($(ms_since "$t0") > 180000)) && die "no failover within 3 minutes (h$victim down: $d ms; last: $n running, $n3 on h$victim)"
    sleep 0.1
  done
  down_ms+=("$d") all_ms+=("$a")
  log "run $run/$runs: node down after $d ms, $replicas running again after $a ms"

  # --- back to nothing, for the next run (or the exit) -----------------------------
  teardown
  hosts_clear
done

printf '{"date":"%s","machine":"%s, %s cores","peer":"docker-swarm %s (3 dockerd in netns)","storageDriver":"%s","runs":%d,"downMedianMs":%d,"allMedianMs":%d,"downMs":%s,"allMs":%s}\n' \
  "$(date -u +%F)" "$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | sed "s/^ *//; s/\"/\\\\\"/g")" "$(nproc)" "$server_version" "$driver" "$runs" \
  "$(median "${down_ms[@]}")" "$(median "${all_ms[@]}")" "$(list "${down_ms[@]}")" "$(list "${all_ms[@]}")"
