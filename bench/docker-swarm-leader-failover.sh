#!/usr/bin/env bash
# Peer measurement for the leader-manager failover benchmark
# (bench/leader-failover.ts): Docker Swarm from Debian's docker.io (20.10)
# with one dockerd per test host, 3 hosts on this machine, ALL THREE managers
# (the hosts of bench/docker-swarm-multihost.sh, bench/dockerd-lib.sh). Root:
#
#   bench/docker-swarm-leader-failover.sh [--runs 3] [--keep-log DIR]
#
# Two scenarios per run, kill then power, each on a fresh swarm: namespaces,
# dockerds, swarm init on h1, h2 and h3 join with the manager token,
# busybox:latest loaded on every node, an overlay network lf_default and
# `docker service create --name web --network lf_default --replicas 30
# --stop-grace-period 1s --no-resolve-image busybox:latest httpd -f -p 8080
# -h /var/www`; wait until 30 tasks run on all three hosts and `docker node
# ls` shows one Leader and two Reachable, then 1.5 s (as leader-failover.ts).
# The leader is the node `docker node ls` marks Leader; the survivor polled is
# the first other host, with the docker CLI. While the swarm has no leader a
# survivor's CLI call fails or hangs (it is answered once a leader is
# elected), so the leader is asked every 150 ms without waiting for the
# previous call (each given up after 5 s), and a call's answer is timed when
# it arrives; the tasks are polled one call after another (~100-200 ms).
#   kill:   t0, SIGKILL of the leader's dockerd alone (its containerd, shims
#           and containers live on, unmanaged; it is not restarted). At t0 a
#           background loop starts `docker service scale web=33 --detach`
#           through the survivor and retries it until the CLI accepts it.
#             leaderMs  t0 → the survivor's `docker node ls` shows a Leader
#                       that is not the killed node;
#             scaleMs   t0 → 33 tasks of web with desired state running and
#                       current state running (`docker service ps` on the
#                       survivor; tasks on the killed node count while swarm
#                       still reports them running: their containers do run).
#   power:  t0, the leader's power cut, as bench/docker-swarm-failover.sh cuts
#           h3: its port on the test switch goes down, then SIGKILL (by PID,
#           until none is left) of its dockerd, containerd, shims and
#           containers.
#             leaderMs  as above;
#             allMs     t0 → 30 tasks desired and currently running, none on
#                       the dead host (and a new leader seen).
# Docker's defaults throughout (raft election ticks, dispatcher heartbeat
# period 5 s, restart delay 5 s).
#
# Prints one JSON line on stdout, progress on stderr. Everything it creates
# (daemons, containerds, shims, containers, mounts, namespaces, cgroups, links,
# the files dockerd writes to /etc/docker and /run, the sockets of killed
# shims) is removed after each scenario and on exit, failure or Ctrl-C
# included; in the kill scenario that includes the killed dockerd's
# containerd, shims and containers. --keep-log DIR keeps the dockerd logs.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
log() { printf 'docker-swarm-leader-failover: %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
# shellcheck source=bench/dockerd-lib.sh
source "$here/bench/dockerd-lib.sh"

runs=3 keep_log="" replicas=30 scaled_to=33 run=0 scenario="" bg_pids=()
peer_options "[--runs R] [--keep-log DIR]" "$@"
hosts_preflight

# stop_bg: the background loops of a scenario (leader poller, scaler), by PID;
# a docker CLI one of them was waiting for names $tmp/ and goes with
# hosts_down's leftovers.
stop_bg() {
  local p
  for p in "${bg_pids[@]}"; do
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  bg_pids=()
}
# reap_bg: waits for the background loops, which have ended (or are about to).
reap_bg() {
  local p
  for p in "${bg_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  bg_pids=()
}

# teardown: the background loops stopped, the hosts down and their logs kept, after each scenario and on exit.
teardown() { stop_bg; hosts_down web; save_dockerd_logs "$keep_log" "run$run-$scenario-"; }
hosts_session_start dslf teardown

# dkt I ARGS… → the docker CLI against host I, given up after 5 s: a survivor
# forwards to the leader, and a call caught by the leader's death must not
# stall the polling.
dkt() { local i="$1"; shift; timeout 5 "$DOCKER" -H "unix://$(sock_of "$i")" "$@"; }
# leader_seen_by I → the hostname host I's `docker node ls` marks Leader (empty while there is none)
leader_seen_by() { dkt "$1" node ls --format '{{.Hostname}} {{.ManagerStatus}}' 2>/dev/null | awk '$2 == "Leader" { print $1 }' || true; }
# leader_poller I FILE: every 150 ms, without waiting for the previous call,
# asks host I which node leads and appends "<ns at the answer> <hostname>" to
# FILE; stops (and waits for its calls) once FILE.stop exists.
leader_poller() {
  local i="$1" f="$2"
  while [[ ! -e "$f.stop" ]]; do
    (
      name=$(leader_seen_by "$i")
      if [[ -n "$name" ]]; then echo "$(now_ns) $name" >>"$f"; fi
    ) &
    sleep 0.15
  done
  wait
}
# new_leader_ms FILE T0 OLD → ms from T0 to the first answer in FILE naming a leader other than OLD (empty if none yet)
new_leader_ms() {
  [[ -s "$1" ]] || return 0
  awk -v old="$3" -v t0="$2" '$2 != old && (best == "" || $1 < best) { best = $1; who = $2 }
    END { if (best != "") print int((best - t0) / 1000000), who }' "$1"
}
# note_new_leader: until l is set, sets it (ms since t0) once the poller saw a leader other than h$leader, and stops the poller.
note_new_leader() {
  local found
  ((l < 0)) || return 0
  found=$(new_leader_ms "$tmp/leaders" "$t0" "h$leader")
  [[ -n "$found" ]] || return 0
  l=${found% *}
  touch "$tmp/leaders.stop"
  log "  new leader ${found#* } after $l ms"
}
# scaler I N FILE: `docker service scale web=N --detach` through host I until
# the CLI accepts it (each try given up after 15 s; a try caught by the
# election is answered when it ends), then "<ns>" to FILE; a line per refused
# try to FILE.errors.
scaler() {
  local rc
  while :; do
    rc=0
    timeout 15 "$DOCKER" -H "unix://$(sock_of "$1")" service scale "web=$2" --detach >/dev/null 2>"$3.try" || rc=$?
    ((rc == 0)) && break
    if ((rc == 124)); then echo "no answer within 15 s"; else head -1 "$3.try"; fi >>"$3.errors"
    sleep 0.1
  done
  now_ns >"$3"
}
# web_tasks I → one line per task of web with desired state running, from host I: "<node> <current state>"
web_tasks() { dkt "$1" service ps web --filter desired-state=running --format '{{.Node}} {{.CurrentState}}' 2>/dev/null || true; }
# count_running LINES [NODE] → how many are Running (on NODE if given)
count_running() { awk -v n="${2:-}" '$2 == "Running" && (n == "" || $1 == n) { c++ } END { print c + 0 }' <<<"$1"; }
spread() { awk '$2 == "Running" { print $1 }' <<<"$1" | sort | uniq -c | awk '{ printf "%s%s:%s", s, $2, $1; s = " " }'; }

leader="" survivor=""
# cluster_up: a fresh swarm of 3 managers with web at 30 replicas on all three
# hosts; sets leader and survivor (host numbers).
cluster_up() {
  local t last="" tasks n spread_n managers name
  hosts_net_up
  dockerds_up ${driver:+"$driver"}
  busybox_everywhere "$tmp/busybox.tar"
  swarm_up manager
  ((run == 1)) && [[ "$scenario" == kill ]] &&
    log "swarm defaults: $(dk 1 info --format 'raft election tick {{.Swarm.Cluster.Spec.Raft.ElectionTick}}, heartbeat tick {{.Swarm.Cluster.Spec.Raft.HeartbeatTick}}; dispatcher heartbeat period {{.Swarm.Cluster.Spec.Dispatcher.HeartbeatPeriod}}' 2>&1)"
  dk 1 network create -d overlay lf_default >/dev/null || die "docker network create -d overlay lf_default failed"
  dk 1 service create -d --name web --replicas "$replicas" --network lf_default --stop-grace-period 1s --no-resolve-image \
    busybox:latest httpd -f -p 8080 -h /var/www >/dev/null || die "docker service create web failed"
  t=$(now_ns)
  while :; do
    tasks=$(web_tasks 1)
    n=$(count_running "$tasks")
    spread_n=$(awk '$2 == "Running" { print $1 }' <<<"$tasks" | sort -u | wc -l)
    managers=$(dkt 1 node ls --format '{{.ManagerStatus}}' 2>/dev/null | sort | tr '\n' ' ' || true)
    ((n == replicas && spread_n == 3)) && [[ "$managers" == "Leader Reachable Reachable " ]] && break
    [[ "$n/$spread_n/$managers" != "$last" ]] && { log "  … $n running on $spread_n hosts; managers: $managers"; last="$n/$spread_n/$managers"; }
    (($(ms_since "$t") > 120000)) && die "web did not reach $replicas running tasks on 3 hosts with 3 managers (last: $n on $spread_n hosts; $managers)"
    sleep 0.2
  done
  # Let the deploy's after-effects pass (as bench/leader-failover.ts).
  sleep 1.5
  name=$(leader_seen_by 1)
  [[ "$name" =~ ^h([123])$ ]] || die "no leader in docker node ls (got '$name')"
  leader=${BASH_REMATCH[1]}
  survivor=1; ((leader == 1)) && survivor=2
  log "run $run/$runs $scenario: $replicas running ($(spread "$tasks")); leader h$leader, polling h$survivor"
}

# scenario_down: back to nothing, for the next scenario (or the exit).
scenario_down() { teardown; hosts_clear; }

kill_leader_ms=() kill_scale_ms=() kill_accepted_ms=() kill_on_dead=() power_leader_ms=() power_all_ms=()
for ((run = 1; run <= runs; run++)); do
  # --- kill: the leader's dockerd alone --------------------------------------------
  scenario=kill
  cluster_up
  rm -f "$tmp"/leaders* "$tmp"/scale*; : >"$tmp/scale.errors"
  t0=$(now_ns)
  p=${dockerd_pid[$leader]}
  kill -KILL "$p"
  wait "$p" 2>/dev/null || true
  dockerd_pid[$leader]=""
  # The scale, issued at the kill and retried until accepted, in its own
  # process so that a call held up by the election does not hold up the rest.
  scaler "$survivor" "$scaled_to" "$tmp/scale" &
  bg_pids+=($!)
  leader_poller "$survivor" "$tmp/leaders" &
  bg_pids+=($!)
  log "run $run/$runs kill: h$leader's dockerd killed ($(ms_since "$t0") ms), scale to $scaled_to through h$survivor"
  l=-1 s=-1 a=-1 n=0 dead_n=0 last=""
  while :; do
    note_new_leader
    if ((a < 0)) && [[ -s "$tmp/scale" ]]; then
      a=$(( ($(<"$tmp/scale") - t0) / 1000000 ))
      # The CLI's reasons for the refused tries, shortened, the most frequent first.
      refusals=$(sed -E 's/^Error( response from daemon)?: //; s/^rpc error: code = [A-Za-z]+ desc = //' "$tmp/scale.errors" | cut -c1-90 | sort | uniq -c | sort -rn | head -2 | sed -E 's/^ *([0-9]+) /\1× /' | paste -sd';' || true)
      log "  scale accepted after $a ms, $(grep -c . <"$tmp/scale.errors" || true) tries refused before${refusals:+: $refusals}"
    fi
    if ((a >= 0 && s < 0)); then
      tasks=$(web_tasks "$survivor")
      n=$(count_running "$tasks")
      if ((n == scaled_to)); then
        s=$(ms_since "$t0") dead_n=$(count_running "$tasks" "h$leader")
        log "  $scaled_to running after $s ms ($(spread "$tasks"))"
      elif [[ "$n" != "$last" ]]; then
        log "  … $(ms_since "$t0") ms: $n running"; last=$n
      fi
    fi
    ((l >= 0 && s >= 0)) && break
    (($(ms_since "$t0") > 180000)) && die "kill: no new leader and $scaled_to running within 3 minutes (leader $l ms, scale accepted $a ms, last $n running)"
    sleep 0.1
  done
  reap_bg
  kill_leader_ms+=("$l") kill_scale_ms+=("$s") kill_accepted_ms+=("$a") kill_on_dead+=("$dead_n")
  log "run $run/$runs kill: new leader after $l ms, scale done after $s ms"
  scenario_down

  # --- power: the leader's host -----------------------------------------------------
  scenario=power
  cluster_up
  rm -f "$tmp"/leaders*
  t0=$(now_ns)
  power_cut "$leader"
  leader_poller "$survivor" "$tmp/leaders" &
  bg_pids+=($!)
  log "run $run/$runs power: h$leader cut off and killed ($(ms_since "$t0") ms)"
  l=-1 a=-1 n=0 nd=0 last=""
  while :; do
    note_new_leader
    tasks=$(web_tasks "$survivor")
    n=$(count_running "$tasks") nd=$(grep -c "^h$leader " <<<"$tasks" || true)
    ((l >= 0 && n == replicas && nd == 0)) && { a=$(ms_since "$t0"); break; }
    [[ "$n/$nd" != "$last" ]] && { log "  … $(ms_since "$t0") ms: $n running, $nd desired-running on h$leader"; last="$n/$nd"; }
    (($(ms_since "$t0") > 180000)) && die "power: no failover within 3 minutes (new leader: $l ms; last: $n running, $nd on h$leader)"
    sleep 0.1
  done
  reap_bg
  power_leader_ms+=("$l") power_all_ms+=("$a")
  log "run $run/$runs power: new leader after $l ms, $replicas running again after $a ms ($(spread "$tasks"))"
  scenario_down
done

log "medians of $runs: kill: new leader $(median "${kill_leader_ms[@]}") ms, scale done $(median "${kill_scale_ms[@]}") ms; power: new leader $(median "${power_leader_ms[@]}") ms, all $replicas $(median "${power_all_ms[@]}") ms"
printf '{"date":"%s","machine":"%s, %s cores","peer":"docker-swarm %s (3 dockerd in netns, 3 managers)","storageDriver":"%s","runs":%d,"kill":{"leaderMs":%s,"scaleMs":%s,"scaleAcceptedMs":%s,"runningOnKilledNode":%s},"power":{"leaderMs":%s,"allMs":%s}}\n' \
  "$(date -u +%F)" "$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | sed "s/^ *//; s/\"/\\\\\"/g")" "$(nproc)" "$server_version" "$driver" "$runs" \
  "$(list "${kill_leader_ms[@]}")" "$(list "${kill_scale_ms[@]}")" "$(list "${kill_accepted_ms[@]}")" "$(list "${kill_on_dead[@]}")" \
  "$(list "${power_leader_ms[@]}")" "$(list "${power_all_ms[@]}")"
