#!/usr/bin/env bash
# Peer measurement for the join benchmark (bench/join.ts): Docker Swarm from
# Debian's docker.io (20.10), one dockerd per test host, 2 hosts on this
# machine, the hosts of bench/docker-swarm-multihost.sh (bench/dockerd-lib.sh)
# with two of them. Run as root:
#
#   bench/docker-swarm-join.sh [--runs 5] [--keep-log DIR]
#
# Once: network namespaces h1, h2 and a switch namespace with a bridge
# (underlay 10.213.0.1-2/24), a dockerd in each, `docker swarm init
# --advertise-addr 10.213.0.1` on h1 and its worker token. Then per run, h2
# being no member of any swarm:
#   * t0, `docker swarm join --token T --advertise-addr 10.213.0.2
#     10.213.0.1:2377` on h2 starts (in the background);
#   * h1 is polled, one call after the other, until its node h2 is Ready
#     (what `docker node ls` shows, read from the API: GET /nodes with curl,
#     ~5 ms a call; the docker CLI, ~55 ms, when curl is missing):
#     readyMs = t0 → that answer;
#     cliMs = t0 → the join command's exit;
#   * `docker swarm leave --force` on h2, `docker node rm --force` of that
#     node on h1, and 1 s for both daemons to settle, so the next run is a
#     fresh join (new node ID, new certificate).
#
# Prints one JSON line on stdout, progress on stderr. Everything it creates
# (daemons, containerds, mounts, namespaces, cgroups, the files dockerd writes
# to /etc/docker and /run) is removed on exit, failure or Ctrl-C included.
# --keep-log DIR keeps the two dockerd logs. If Swarm cannot work here: one
# `docker-swarm-join: FAILED: <reason>` line and exit 1.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
log() { printf 'docker-swarm-join: %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
# shellcheck source=bench/dockerd-lib.sh
source "$here/bench/dockerd-lib.sh"

runs=5 keep_log="" worker=2
peer_options "[--runs R] [--keep-log DIR]" "$@"
hosts_preflight

# teardown: the hosts down (h2 leaves, then h1) and their logs kept, on exit.
teardown() { hosts_down; save_dockerd_logs "$keep_log" ""; }
hosts_session_start dsjn teardown 2

# h2_status → the STATUS column of h2's row in the manager's `docker node ls` (empty when it has none)
h2_status() { dk 1 node ls --format '{{.Hostname}} {{.Status}}' 2>/dev/null | awk -v h="h$worker" '$1 == h { print $2; exit }' || true; }
# h2_ready: whether the manager reports h2 ready. What `docker node ls` shows, asked of the API
# (GET /nodes, hostname filter) with curl: ~5 ms a call, where one docker CLI call takes ~50-60 ms
# here, which would be the poll's resolution. Without curl, the CLI.
if command -v curl >/dev/null; then
  h2_ready() {
    curl -sf --max-time 5 --unix-socket "$(sock_of 1)" "http://docker/nodes?filters=%7B%22name%22%3A%7B%22h$worker%22%3Atrue%7D%7D" 2>/dev/null |
      grep -q '"Status":{"State":"ready"'
  }
  poll_how="GET /nodes (curl)"
else
  h2_ready() { [[ $(h2_status) == Ready ]]; }
  poll_how="docker node ls"
fi
# local_state I → "active", "inactive", "pending"…: the swarm state host I's dockerd reports for itself
local_state() { dk "$1" info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || true; }

# --- the two hosts and the swarm --------------------------------------------------
hosts_net_up
dockerds_up
dk 1 swarm init --advertise-addr "$(addr_of 1)" >/dev/null || die "docker swarm init on h1 failed"
token=$(dk 1 swarm join-token -q worker) || die "docker swarm join-token worker failed"
log "swarm initialised on h1; each run joins h$worker with the worker token"
t=$(now_ns)
for _ in 1 2 3 4 5; do h2_ready || true; done
log "the manager is polled by $poll_how, ~$(( $(ms_since "$t") / 5 )) ms a call here (the poll's resolution)"

ready_ms=() cli_ms=()
for ((run = 1; run <= runs; run++)); do
  [[ $(local_state "$worker") == inactive ]] || die "h$worker is not out of the swarm before run $run ($(local_state "$worker"))"
  [[ -z $(h2_status) ]] || die "h$worker is still listed by the manager before run $run"
  sleep 1
  rm -f "$tmp/join.done" "$tmp/join.out"
  t0=$(now_ns)
  # In the background, so that the manager is polled while it runs; its exit time goes to join.done.
  {
    trap - EXIT INT TERM
    rc=0
    timeout 120 "$DOCKER" -H "unix://$(sock_of "$worker")" swarm join --token "$token" --advertise-addr "$(addr_of "$worker")" "$(addr_of 1):2377" \
      >"$tmp/join.out" 2>&1 || rc=$?
    echo "$rc $(now_ns)" >"$tmp/join.done.part" && mv "$tmp/join.done.part" "$tmp/join.done"
  } &
  join_pid=$!
  ready=-1 cli=-1
  while :; do
    if ((ready < 0)) && h2_ready; then ready=$(ms_since "$t0"); fi
    if ((cli < 0)) && [[ -f "$tmp/join.done" ]]; then
      read -r rc t1 <"$tmp/join.done"
      ((rc == 0)) || die "docker swarm join on h$worker exited $rc: $(tr '\n' ' ' <"$tmp/join.out")"
      cli=$(( (t1 - t0) / 1000000 ))
    fi
    ((ready >= 0 && cli >= 0)) && break
    (($(ms_since "$t0") > 130000)) && die "h$worker not Ready within 130 s (join exited: $([[ -f "$tmp/join.done" ]] && echo yes || echo no); status: $(h2_status))"
    sleep 0.01
  done
  wait "$join_pid" 2>/dev/null || true
  ready_ms+=("$ready") cli_ms+=("$cli")
  log "run $run/$runs: h$worker Ready on the manager after $ready ms, docker swarm join returned after $cli ms"

  # --- back out: a fresh join next time ------------------------------------------------
  id=$(dk 1 node ls --format '{{.ID}} {{.Hostname}}' | awk -v h="h$worker" '$2 == h { print $1 }')
  [[ -n "$id" ]] || die "no node h$worker on the manager after the join"
  timeout 60 "$DOCKER" -H "unix://$(sock_of "$worker")" swarm leave --force >/dev/null || die "docker swarm leave on h$worker failed"
  dk 1 node rm --force "$id" >/dev/null || die "docker node rm --force $id failed"
done

printf '{"date":"%s","machine":"%s, %s cores","peer":"docker-swarm %s (2 dockerd in netns)","storageDriver":"%s","poll":"%s","runs":%d,"readyMedianMs":%d,"cliMedianMs":%d,"readyMs":%s,"cliMs":%s}\n' \
  "$(date -u +%F)" "$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | sed "s/^ *//; s/\"/\\\\\"/g")" "$(nproc)" "$server_version" "$driver" "$poll_how" "$runs" \
  "$(median "${ready_ms[@]}")" "$(median "${cli_ms[@]}")" "$(list "${ready_ms[@]}")" "$(list "${cli_ms[@]}")"
